/* trm.h - Tiny Recursive Models in C: the public API of libtrm.
 *
 * A TRM refines a latent z from (x, y, z) n times, then the answer y from
 * (y, z); that cycle runs T times per supervision step, and up to
 * halt_max_steps supervision steps run under an ACT halting head.
 * See docs/ and docs/trm-spec.md for the model definition; "spec N.M" in
 * the sources' comments cites section N.M of docs/trm-spec.md.
 *
 * Conventions
 *   - All tensors are fp32, row-major, with PyTorch's [out, in] layout for
 *     weight matrices (y = x W^T).
 *   - Functions that can fail return 0 on success and -1 on failure, with a
 *     one-line message in a caller-provided trm_err.
 *   - Objects come in _new/_free pairs; _free(NULL) is a no-op.
 *   - The library prints nothing: progress comes through callbacks,
 *     findings such as non-finite weights through queries
 *     (trm_model_nonfinite); printing is the caller's (src/cli does it).
 *   - Every function declared here is marked TRM_API: libtrm.so exports
 *     exactly those.
 *   - Names: every function and object declared here starts with trm_
 *     (macros TRM_), and no other symbol of libtrm does (tests/install.sh
 *     checks libtrm.a). libtrm's internal functions and objects (headers
 *     under src/, not for programs) carry their module's prefix: util_
 *     (core/util.h), rng_, np_ (nprand), sha256_, kv_ (keyval), cpu_,
 *     gemm_/matmul_ (kernels/matmul.h), vec_ (ISA tables), op_
 *     (kernels/ops.h), v512_/v2_ (ISA kernels), prof_, st_ (safetensors),
 *     npy_, io_ (fileio), json_ (jsonout), dataset_/loader_/split_writer_
 *     (data), block_/model_ (model), muon_ (optim), replay_/train_
 *     (train), task_, arc_, sudoku_, sudoku4_, maze_, build_ (tasks),
 *     render_, plot_, canvas_, board_, font_, metrics_ (render), ddp_/dist_
 *     (dist); everything else is static. Internal types (not symbols) may
 *     keep trm_ names (trm_loader, trm_aug, ...).
 */
#ifndef TRM_H
#define TRM_H

#include <signal.h> /* sig_atomic_t: stop flags */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* TRM_API marks every public function: libtrm.so is built with
 * -fvisibility=hidden and exports exactly these (tests/install.sh checks
 * that every symbol it exports is declared here). */
#if defined(__GNUC__) || defined(__clang__)
#define TRM_API __attribute__((visibility("default")))
#else
#define TRM_API
#endif

#define TRM_VERSION "0.1.0"
#define TRM_IGNORE_LABEL (-100)

/* ---------------------------------------------------------------- errors */

typedef struct {
    char msg[512];
} trm_err;

/* Formats msg into err (if err is not NULL) and returns -1. */
TRM_API int trm_errf(trm_err *err, const char *fmt, ...)
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
TRM_API void trm_config_default(trm_config *cfg);
/* Fills cfg with a named preset: sudoku-mlp, sudoku-att, maze-att,
 * arc1-att, arc2-att (the paper's configurations), or tiny (a small
 * CPU-friendly Sudoku config for demos and tests). */
TRM_API int trm_config_preset(trm_config *cfg, const char *name, trm_err *err);
/* Comma-separated list of preset names, for help texts. */
TRM_API const char *trm_preset_names(void);
/* Checks every field for consistency. */
TRM_API int trm_config_validate(const trm_config *cfg, trm_err *err);
/* Limits on what a config read from a file (a checkpoint's metadata, a
 * run's saved config) may ask for, so that a small corrupt or hostile file
 * cannot make trm allocate or loop without bound; trm_checkpoint_load
 * applies them. Fails naming the field, its value and the limit. The
 * environment variable TRM_CONFIG_LIMITS=off lifts them. */
#define TRM_LIMIT_HIDDEN_SIZE 8192
#define TRM_LIMIT_LAYERS 64
#define TRM_LIMIT_CYCLES 256          /* H_cycles and L_cycles each */
#define TRM_LIMIT_HALT_MAX_STEPS 1024
TRM_API int trm_config_check_limits(const trm_config *cfg, trm_err *err);
/* Sets one field by its reference name from a string ("hidden_size=64"
 * style overrides). */
TRM_API int trm_config_set(trm_config *cfg, const char *key, const char *value, trm_err *err);
/* Serialises to a JSON object with the reference's arch field names.
 * Returns a malloc'd string. */
TRM_API char *trm_config_to_json(const trm_config *cfg);
/* Parses such a JSON object; missing fields keep their current values
 * (call trm_config_default first to get the reference defaults). */
TRM_API int trm_config_from_json(trm_config *cfg, const char *json, trm_err *err);

/* Derived sizes. */
TRM_API int trm_config_prefix_len(const trm_config *cfg);   /* puzzle positions */
TRM_API int trm_config_total_len(const trm_config *cfg);    /* L = prefix + seq_len */
TRM_API int trm_swiglu_width(int h_in, float expansion);    /* reference rounding */
/* Trainable parameters of a model with this config, without building it. */
TRM_API int64_t trm_config_num_params(const trm_config *cfg);
TRM_API const char *trm_pos_encoding_name(trm_pos_encoding p);

/* ---------------------------------------------------------------- model */

/* Who owns a tensor's data, and so what freeing the model does with it. */
typedef enum {
    TRM_TENSOR_HEAP = 0,     /* allocated for this model; freed with it */
    TRM_TENSOR_MAPPED = 1,   /* in the checkpoint file's copy-on-write pages
                                (trm_model.mapping); unmapped with the model */
    TRM_TENSOR_BORROWED = 2, /* another model's data (trm_model_share_tensor);
                                that model frees it */
} trm_tensor_storage;

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
    trm_tensor_storage storage; /* of data (grad is always heap) */
} trm_tensor;

/* The model: its config, derived sizes and named tensors (opaque; read it
 * through the accessors below). */
typedef struct trm_model trm_model;

/* A model with every tensor zero, for loaders to fill. */
TRM_API trm_model *trm_model_alloc(const trm_config *cfg, trm_err *err);
/* Allocates a model with the reference's initialisation (spec 1.7) drawn
 * from our own RNG seeded with seed. */
TRM_API trm_model *trm_model_new(const trm_config *cfg, uint64_t seed, trm_err *err);
TRM_API void trm_model_free(trm_model *m);
/* Makes dst's tensor `name` read and write src's data instead of its own
 * (src must outlive dst). For the EMA evaluation copy, which shares the
 * puzzle table with the live model: EMA never averages it (spec 3.4), and
 * for ARC-1 a second copy would cost 1.8 GB. Returns -1 if either model
 * lacks the tensor or the shapes differ. */
TRM_API int trm_model_share_tensor(trm_model *dst, const trm_model *src, const char *name, trm_err *err);
/* Number of trainable parameters (the reference's num_params). */
TRM_API int64_t trm_model_num_params(const trm_model *m);
TRM_API trm_tensor *trm_model_find(trm_model *m, const char *name);
TRM_API void trm_model_zero_grad(trm_model *m);
/* The model's config: its architecture and the loop counts now in effect
 * (trm_model_set_cycles). Valid while m lives; read-only: a solve's step
 * count is an option of trm_solve, not an edit of the config. */
TRM_API const trm_config *trm_model_config(const trm_model *m);
/* The named tensors, in checkpoint order: how many, and tensor i
 * (NULL when i is outside [0, n)). By name: trm_model_find. */
TRM_API int trm_model_num_tensors(const trm_model *m);
TRM_API trm_tensor *trm_model_tensor(trm_model *m, int i);

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

/* The persistent ACT carry of a batch plus the outputs of its last step
 * (opaque; read it through the accessors below). */
typedef struct trm_act trm_act;

TRM_API trm_act *trm_act_new(const trm_model *m, int batch, trm_mode mode,
                     uint64_t seed, trm_err *err);
TRM_API void trm_act_free(trm_act *a);
/* Marks every row halted, so the next step loads fresh data. */
TRM_API void trm_act_reset(trm_act *a);
/* One supervision step (spec 1.6): reset halted rows with the batch's rows,
 * run the inner step (T cycles), update steps/halted. In TRM_TRAIN mode the
 * activations of the last cycle are kept for trm_act_backward. draws may
 * be NULL (then drawn from a->rng). The model's H_cycles, halt_max_steps
 * and (up to the value it had at trm_act_new) L_cycles may change between
 * steps (depth schedules); a larger L_cycles is refused in TRM_TRAIN mode. */
TRM_API int trm_act_step(trm_model *m, trm_act *a, const trm_batch *batch,
                 const trm_explore *draws, trm_err *err);
/* Loss and metrics of the last step (spec 2.3-2.4); in TRM_TRAIN mode also
 * stores d(total)/d(logits, q_halt) for the backward pass. */
TRM_API void trm_act_loss(const trm_model *m, trm_act *a, trm_loss_kind kind,
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
TRM_API void trm_act_loss_opts(const trm_model *m, trm_act *a, const trm_loss_opts *o, trm_metrics *out);
/* Training without a carry across steps: every row loads the batch and
 * starts from (y_init, z_init), runs `warmup` supervision steps forward
 * only (nothing kept: no gradient reaches them, and no halting or
 * exploration), then one supervision step that keeps its last cycle for
 * trm_act_backward. Afterwards every row has steps = warmup + 1 and is
 * halted (the next call loads fresh data). Training mode only. */
TRM_API int trm_act_step_detached(trm_model *m, trm_act *a, const trm_batch *batch, int warmup,
                          trm_err *err);
/* Back-propagates grad_scale * total loss of the last step into the
 * model's gradients (accumulating). Puzzle-embedding gradients go to
 * trm_act_puzzle_grad (one row per batch row, as the reference). */
TRM_API int trm_act_backward(trm_model *m, trm_act *a, float grad_scale, trm_err *err);
/* [B, puzzle_emb_ndim] gradient of the puzzle rows used by the last
 * training step, or NULL. */
TRM_API const float *trm_act_puzzle_grad(const trm_act *a);

/* Bytes trm_act_new allocates for this config and batch: the carry, the
 * outputs and, in TRM_TRAIN mode, the activations kept for backward and
 * the backward's scratch (linear in batch; excludes the model and the
 * optimizer state). */
TRM_API size_t trm_act_memory_bytes(const trm_config *cfg, int batch, trm_mode mode);
/* Matrix-product FLOPs (2 per multiply-add, attention included) of one
 * supervision step for `batch` examples: forward only (TRM_EVAL) or
 * forward + backward of the last cycle (TRM_TRAIN). */
TRM_API double trm_step_flops(const trm_config *cfg, int batch, trm_mode mode);
/* Test-time depth (docs/search.md): T (H_cycles) and n (L_cycles) are loop
 * counts, not weights, so a trained model can run with other values, e.g.
 * deeper than it was trained with. Sets m->cfg.H_cycles and L_cycles after
 * checking 1 <= T, n <= TRM_MAX_CYCLES; nothing else changes. Call it
 * before creating ACT states of m in TRM_TRAIN mode: those size their
 * saved activations by n (trm_act_step refuses a state made for another n). */
#define TRM_MAX_CYCLES 64
TRM_API int trm_model_set_cycles(trm_model *m, int H_cycles, int L_cycles, trm_err *err);
/* Adds Gaussian noise N(0, sigma^2) to every element of row b's latent z
 * (never y), drawn from rng (xoshiro256** state, advanced); sigma == 0
 * changes nothing and draws nothing. For stochastic rollouts: call it
 * before trm_act_step on rows that continue (docs/search.md). */
TRM_API void trm_act_perturb_z(trm_act *a, int b, float sigma, uint64_t rng[4]);
/* Per-row carry access, for test-time search (which keeps earlier states
 * of a row and resumes from them). trm_act_row_floats is L * D, the size of
 * one row of y or of z. get copies row b's (y, z) out; set puts (y, z)
 * (NULL: y_init / z_init) and the row's inputs and puzzle id in, with its
 * step counter, and marks the row running so the next trm_act_step
 * continues from that state instead of loading batch data. */
TRM_API size_t trm_act_row_floats(const trm_act *a);
TRM_API void trm_act_get_row(const trm_act *a, int b, float *y, float *z);
TRM_API void trm_act_set_row(trm_act *a, int b, const float *y, const float *z, const int32_t *inputs,
                     int32_t puzzle_id, int32_t steps);

/* Reading an ACT state (trm_act is opaque). The arrays are a's own, valid
 * until its next step or trm_act_free; row b of logits starts at
 * b * seq_len * vocab_size. */
TRM_API int trm_act_batch(const trm_act *a);
TRM_API trm_mode trm_act_mode(const trm_act *a);
TRM_API const float *trm_act_logits(const trm_act *a);      /* [B, seq_len, V] of the last step */
TRM_API const float *trm_act_q_halt(const trm_act *a);      /* [B] halting logits of the last step */
TRM_API const float *trm_act_q_continue(const trm_act *a);  /* [B] */
TRM_API const int32_t *trm_act_steps(const trm_act *a);     /* [B] steps of each row's episode */
TRM_API const bool *trm_act_halted(const trm_act *a);       /* [B] */
/* The step cap of a's halting rule: with cap > 0 a row halts after cap
 * supervision steps instead of the model's halt_max_steps (the config is
 * not touched; in TRM_TRAIN mode q_halt and exploration still apply). cap
 * 0 restores halt_max_steps. trm_solve and the search set it and put the
 * previous value back. */
TRM_API void trm_act_set_step_cap(trm_act *a, int cap);
TRM_API int trm_act_step_cap(const trm_act *a);
/* The whole carry, for saving and restoring a training state: pointers
 * into a (write through them to restore) and the sizes of its arrays. */
typedef struct {
    int batch, L, hidden_size, seq_len;  /* y, z: [batch, L, hidden_size] */
    float *y, *z;
    int32_t *steps;                      /* [batch] */
    bool *halted;                        /* [batch] */
    int32_t *inputs, *labels;            /* [batch, seq_len] */
    int32_t *puzzle_ids;                 /* [batch] */
    uint64_t *rng;                       /* [4] exploration RNG state */
} trm_act_carry;
TRM_API void trm_act_carry_view(trm_act *a, trm_act_carry *c);

/* ---------------------------------------------------------------- solving */

/* The answer of one position: the index of the largest of n logits, the
 * first on ties (torch.argmax); comparisons are strict, so a NaN never
 * takes the place of the best so far.
 * second (may be NULL) gets the runner-up (-1 when n == 1), for callers
 * that weigh the margin (test-time search). */
TRM_API int trm_argmax(const float *logits, int n, int *second);
/* trm_argmax of each of `rows` positions of V logits -> tokens[rows]. */
TRM_API void trm_argmax_rows(const float *logits, size_t rows, int V, int32_t *tokens);
/* The model's confidence in an answer: sigmoid(q_halt), in double. */
TRM_API double trm_confidence(float q_halt);

typedef struct trm_task trm_task;  /* a puzzle family: see trm_task_by_name */
/* A task by name (sudoku, sudoku4, maze, arc), or NULL. */
TRM_API const trm_task *trm_task_by_name(const char *name);
/* The task whose vocabulary and board fit a model of this vocab and
 * seq_len, or NULL. */
TRM_API const trm_task *trm_task_detect(int vocab_size, int seq_len);
/* Its name ("sudoku", ...). */
TRM_API const char *trm_task_name(const trm_task *t);
/* A task checker (trm_check_fn) with ctx a const trm_task *: the task's
 * rule violations of answer for the puzzle input (0 = accepted), or -1
 * when the task has no checker (ARC). */
TRM_API int trm_task_check(void *task, const int32_t *input, const int32_t *answer, int seq_len);
/* One puzzle as text (what `trm solve` reads: Sudoku 81 characters, '.'
 * or '0' blank, optionally ",answer"; Maze n*n characters of "# SGo")
 * -> input tokens [seq_len] and, when the text carries one, the answer
 * (label may be NULL; *has_label, may be NULL, says whether it was given).
 * -1 with what was expected, or when t has no one-line form (ARC). */
TRM_API int trm_task_parse(const trm_task *t, const char *text, int seq_len, int32_t *input, int32_t *label,
                   bool *has_label, trm_err *err);
/* Tokens [seq_len] -> that text form, NUL-terminated in out[n]; -1 when it
 * does not fit (2 * seq_len + 2 bytes always do). */
TRM_API int trm_task_format(const trm_task *t, const int32_t *tokens, int seq_len, char *out, size_t n,
                    trm_err *err);

/* A checker of answers: 0 accepts, > 0 counts violations, < 0 = cannot
 * tell (the verdict stays unchecked). */
typedef int (*trm_check_fn)(void *ctx, const int32_t *input, const int32_t *answer, int seq_len);

typedef enum {
    TRM_UNCHECKED = 0,  /* no checker, or it could not tell */
    TRM_SOLVED = 1,     /* the checker accepts the answer */
    TRM_REJECTED = 2,   /* the checker found violations */
} trm_verdict;

typedef struct {
    int max_steps;       /* supervision steps; 0 = the model's halt_max_steps */
    bool early_halt;     /* a row's answer is that of its first step with
                            q_halt > 0 (else of the last step); the batch
                            stops once every row has halted */
    trm_check_fn check;  /* may be NULL: every verdict TRM_UNCHECKED */
    void *check_ctx;
    /* called after every supervision step (step = 1, 2, ...), may be NULL;
     * non-zero stops the solve with that error */
    int (*on_step)(void *ctx, const trm_act *a, int step, trm_err *err);
    void *step_ctx;
} trm_solve_opts;

/* What trm_solve writes, per row; every pointer but tokens may be NULL. */
typedef struct {
    int32_t *tokens;        /* [batch, seq_len] the answer (argmax of the logits) */
    float *q_halt;          /* [batch] halting logit of the answer's step */
    double *confidence;     /* [batch] trm_confidence(q_halt) */
    int32_t *steps;         /* [batch] supervision steps the answer took */
    trm_verdict *verdict;   /* [batch] */
    int *violations;        /* [batch] the checker's count, -1 when unchecked */
} trm_solve_out;

/* The one way a batch is solved: every row starts from a fresh carry and
 * runs up to max_steps supervision steps (trm_act_step, evaluation mode),
 * without changing m's config. a is a TRM_EVAL state of m with
 * batch->batch rows, or NULL (then one is made and freed here); afterwards
 * it holds the outputs of the last step run. batch->labels may be NULL. */
TRM_API int trm_solve(trm_model *m, trm_act *a, const trm_batch *batch, const trm_solve_opts *o,
              trm_solve_out *out, trm_err *err);

/* ---------------------------------------------------------------- datasets */

/* A dataset folder in the reference's on-disk format: DIR/identifiers.json
 * and, per split, DIR/<split>/dataset.json plus .npy arrays. Groups (one
 * original puzzle) -> puzzles (augmented versions, each with an
 * identifier) -> examples (input/label pairs). */

/* DIR/<split>/dataset.json */
typedef struct {
    int seq_len, vocab_size;
    int pad_id;
    bool has_ignore_label;      /* false when ignore_label_id is null */
    int ignore_label_id;
    int blank_identifier_id;
    int num_puzzle_identifiers; /* including the blank id 0 */
    int64_t total_groups, total_puzzles;
    double mean_puzzle_examples;
    int n_sets;                 /* only the set "all" is supported */
} trm_dataset_meta;

typedef struct trm_split trm_split;

/* Opens DIR/<split> (split = "train" or "test"): parses dataset.json,
 * maps inputs/labels (not copied), loads the index arrays, validates
 * dtypes, shapes, index monotonicity and bounds, token ids < vocab_size,
 * puzzle ids < num_puzzle_identifiers. Errors name the file and field. */
TRM_API trm_split *trm_split_open(const char *dir, const char *split, trm_err *err);
TRM_API void trm_split_close(trm_split *s);
TRM_API const trm_dataset_meta *trm_split_meta(const trm_split *s);
TRM_API int64_t trm_split_num_examples(const trm_split *s);
TRM_API int64_t trm_split_num_puzzles(const trm_split *s);
TRM_API int64_t trm_split_num_groups(const trm_split *s);
/* Example i as int32 tokens; labels equal to ignore_label_id become -100. */
TRM_API void trm_split_example(const trm_split *s, int64_t i, int32_t *inputs, int32_t *labels);
TRM_API int32_t trm_split_puzzle_id(const trm_split *s, int64_t puzzle);
/* [first, end) examples of a puzzle / puzzles of a group. */
TRM_API void trm_split_puzzle_range(const trm_split *s, int64_t puzzle, int64_t *first, int64_t *end);
TRM_API void trm_split_group_range(const trm_split *s, int64_t group, int64_t *first, int64_t *end);

/* ---------------------------------------------------------------- evaluation */

typedef struct {
    int64_t examples;
    double exact_accuracy, accuracy, q_halt_accuracy, mean_steps, lm_loss;
    int n_steps;                 /* supervision steps run */
    bool stopped;                /* trm_eval_opts.stop was raised: partial, not to be reported */
    double *exact_by_step;       /* [n_steps] when per_step was asked, else NULL */
    double *accuracy_by_step;
} trm_eval_result;

/* Evaluates m on a split (spec 3.5 test loader, fresh carry per batch,
 * `steps` supervision steps, default halt_max_steps when 0). */
TRM_API int trm_evaluate(trm_model *m, const trm_split *split, int steps, int batch,
                 int64_t max_examples, bool per_step, trm_eval_result *out, trm_err *err);
TRM_API void trm_eval_result_free(trm_eval_result *r);

/* One evaluated example, as seen after the last supervision step. The
 * pointers are valid only during the callback. */
typedef struct {
    int64_t index;          /* example index in the split */
    const int32_t *input;   /* [seq_len] */
    const int32_t *label;   /* [seq_len]; TRM_IGNORE_LABEL where ignored */
    int32_t puzzle_id;
    const int32_t *pred;    /* [seq_len] predicted tokens (argmax of the logits) */
    float q_halt;           /* halting logit; sigmoid = confidence */
} trm_eval_row;

/* Called once per real (non-padding) example, in split order; a non-zero
 * return stops the evaluation with that error. */
typedef int (*trm_eval_row_fn)(void *ctx, const trm_eval_row *row, trm_err *err);

/* Solves one batch: fills pred [batch, seq_len] and q_halt [batch]. The
 * default is trm_solve (`steps` plain supervision steps from a fresh
 * carry); a test-time search (trm_search_eval_solve) plugs in here. lm_loss is taken from a's last step. */
typedef int (*trm_eval_solve_fn)(void *ctx, trm_model *m, trm_act *a, const trm_batch *bt,
                                 int steps, int32_t *pred, float *q_halt, trm_err *err);

typedef struct {
    int steps;               /* 0 = halt_max_steps */
    int batch;
    int64_t max_examples;    /* 0 = all */
    bool per_step;           /* only with the default solver */
    trm_eval_row_fn on_row;  /* may be NULL */
    void *row_ctx;
    trm_eval_solve_fn solve; /* NULL = plain recursion */
    void *solve_ctx;
    const volatile sig_atomic_t *stop; /* may be NULL; when it turns non-zero the
                                          evaluation ends after the batch at hand */
    /* may be NULL: called after each batch with the examples done so far
     * and their exact accuracy (trm eval prints it; training reports it
     * through its callbacks). The library prints nothing itself. */
    void (*on_progress)(void *ctx, int64_t seen, int64_t total, double exact);
    void *progress_ctx;
    /* Data-parallel evaluation (docs/mpi.md). In a process that joined a
     * group of P > 1 ranks (trm train under mpirun), every rank must call
     * this together: each solves its contiguous slice of every batch and
     * the sums are added over the ranks, so all get the whole result
     * (on_progress sees this rank's exact accuracy so far). Takes the plain
     * solver and no on_row; a stop on any rank stops all. In a single
     * process it changes nothing. */
    bool split;
} trm_eval_opts;

/* trm_evaluate with a per-row callback and a pluggable batch solver. */
TRM_API int trm_evaluate_opts(trm_model *m, const trm_split *split, const trm_eval_opts *o,
                      trm_eval_result *out, trm_err *err);

/* ---------------------------------------------------------------- search */

/* Test-time search: a TRM that checks its own work and goes
 * back when the work is wrong (docs/search.md).
 *
 * Every supervision step of every branch is scored twice: by the model
 * (sigmoid(q_halt)) and, for tasks with a checker, by task->verify
 * (violations, disagreement with the givens included). The best state seen
 * so far (its recursion carry y, z and its inputs) is kept; when a branch
 * stops improving (or runs its length) the search goes back to that state
 * and branches: commit an uncertain cell to its second-best value as a new
 * given, run the puzzle under a fresh augmentation, or re-seed the latent.
 * The search stops for a puzzle as soon as its answer passes the checker,
 * or when its budget of supervision steps (network evaluations) is spent.
 * No classical solver is involved: every answer is one the model wrote.
 *
 * Puzzles are searched in batches: the rows of one trm_act are lanes, each
 * running one branch of one puzzle; a lane freed by a finished puzzle takes
 * the next puzzle, and once none is left, idle lanes run extra branches of
 * the puzzles still unsolved.
 *
 * Rollouts (opts.rollouts = K > 0) replace the branching: K lanes per
 * puzzle run from a fresh carry for budget / K supervision steps each,
 * every lane but lane 0 with Gaussian noise (opts.noise) added to its z
 * before every step; the answer is the lane the checker accepts (highest
 * q among those), else the lane with the highest sigmoid(q_halt).
 */
typedef enum {
    TRM_BRANCH_PLAIN = 0,   /* the first branch: the model as trained, fresh carry */
    TRM_BRANCH_AUG = 1,     /* fresh carry, the puzzle under a new random augmentation */
    TRM_BRANCH_COMMIT = 2,  /* best state, one uncertain cell fixed to its 2nd-best value */
    TRM_BRANCH_RESEED = 3,  /* fresh y, z = z_init + noise */
    TRM_BRANCH_FIX = 4,     /* fresh carry, the best state's most confident conflict-free cells as givens */
    TRM_BRANCH_ROLLOUT = 5, /* a rollout lane (opts.rollouts); not a policy entry */
    TRM_BRANCH_KINDS = 6,
} trm_branch_kind;

TRM_API const char *trm_branch_name(trm_branch_kind k);

#define TRM_SEARCH_MAX_POLICY 8
#define TRM_SEARCH_MAX_ROLLOUTS 1024
#define TRM_SEARCH_MAX_NOISE 100.0f

typedef struct {
    int64_t budget;        /* supervision steps per puzzle, >= 1 */
    double time_limit;     /* wall seconds for the whole call; 0 = none */
    int branch_steps;      /* longest branch; 0 = the caller's step count (halt_max_steps) */
    int patience;          /* end a branch after this many steps without a better score; 0 = never */
    trm_branch_kind policy[TRM_SEARCH_MAX_POLICY]; /* branches after the plain one, cycled */
    int n_policy;
    bool commit_fresh;     /* commit branches restart from a fresh carry (else resume the best state) */
    float reseed_std;      /* noise added to z_init by reseed branches */
    float fix_fraction;    /* share of the conflict-free filled cells a fix branch turns into givens */
    bool share_lanes;      /* idle lanes run extra branches of unsolved puzzles */
    int rollouts;          /* K > 0: K noisy rollouts per puzzle instead of branching; 0 = off */
    float noise;           /* rollouts: std of the noise added to z of lanes 1..K-1 before every step */
    uint64_t seed;
    /* Test hooks, NULL in normal use. after_step runs after every batch step
     * and may rewrite a->logits / a->q_halt (a stub scorer); on_step sees
     * every scored step of every lane (answer in the puzzle's frame). */
    int (*after_step)(void *ctx, trm_act *a, trm_err *err);
    void *hook_ctx;
    void (*on_step)(void *ctx, int puzzle, trm_branch_kind kind, const int32_t *answer,
                    int violations, float q);
    void *trace_ctx;
} trm_search_opts;

/* Defaults: budget 4 x halt_max_steps, patience 2, policy "fix,aug",
 * commits resume the best state, reseed_std 0.5, fix_fraction 0.5, lanes
 * shared, no rollouts (noise 0), seed 0. */
TRM_API void trm_search_opts_default(trm_search_opts *o, const trm_config *cfg);
/* "aug,commit,reseed" style list -> o->policy. */
TRM_API int trm_search_set_policy(trm_search_opts *o, const char *list, trm_err *err);
/* Checks every field (budget >= 1, patience >= 0, rollouts 0..
 * TRM_SEARCH_MAX_ROLLOUTS with budget >= rollouts, noise 0..
 * TRM_SEARCH_MAX_NOISE, ...). */
TRM_API int trm_search_opts_check(const trm_search_opts *o, trm_err *err);

/* What the search did for one puzzle. */
typedef struct {
    float q;               /* sigmoid(q_halt) at the step the answer came from */
    float q_logit;
    int violations;        /* task->verify of the answer; -1 = no checker */
    bool verified;         /* the answer passed the checker */
    int64_t evals;         /* supervision steps charged to this puzzle (<= budget) */
    int branches;          /* branches started, the plain one included */
    trm_branch_kind found_by;
    bool started;          /* false when the time limit ran out first */
    int lane;              /* rollouts: the lane chosen (by the checker when verified, else by q); -1 = none */
} trm_search_result;

/* Totals over calls (callers sum them across batches). */
typedef struct {
    int64_t puzzles, verified, evals, branches;
    int64_t row_steps;     /* rows computed by the batch, idle lanes included */
    int64_t found_by[TRM_BRANCH_KINDS];
    int64_t rollout_puzzles;  /* puzzles run as rollouts (the rest of them were chosen by q) */
    double seconds;
} trm_search_stats;

/* Searches n puzzles (inputs [n, seq_len] in the task's token layout,
 * puzzle ids [n] or NULL) using the rows of a (a TRM_EVAL state of model m)
 * as lanes; writes answers [n, seq_len] and res [n]; adds to stats (may be
 * NULL). task must fit the model (vocab, seq_len). first_index numbers the
 * puzzles for their random streams, so results do not depend on how a
 * caller splits a set into calls. */
TRM_API int trm_search_run(trm_model *m, trm_act *a, const trm_task *task, const int32_t *inputs,
                   const int32_t *puzzle_ids, int n, int64_t first_index,
                   const trm_search_opts *o, int32_t *answers, trm_search_result *res,
                   trm_search_stats *stats, trm_err *err);

/* ---- plugging the search into trm_evaluate_opts */

typedef struct {
    trm_search_opts opts;
    const trm_task *task;
    trm_search_stats stats;
    int64_t next_index;    /* puzzles searched so far (their index base) */
    int64_t max_puzzles;   /* search at most this many (the evaluation's max_examples); 0 = all */
    int64_t solved, evals_solved; /* exactly right vs the labels, and their evals */
    double deadline;       /* absolute, from opts.time_limit at the first call; 0 = none */
} trm_search_eval_ctx;

/* A trm_eval_solve_fn: searches the batch's real rows (rows whose labels
 * are all ignored are the loader's padding and are skipped). */
TRM_API int trm_search_eval_solve(void *ctx, trm_model *m, trm_act *a, const trm_batch *bt, int steps,
                          int32_t *pred, float *q_halt, trm_err *err);

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
TRM_API void trm_optim_config_default(trm_optim_config *c);
/* "adam_atan2", "adamw", "muon" <-> the enum; parse returns -1 on an
 * unknown name. */
TRM_API const char *trm_optimizer_name(trm_optimizer k);
TRM_API int trm_optimizer_parse(const char *name, trm_optimizer *out);
/* Whether Muon updates t: a trainable 2-D weight inside the blocks
 * (L_level.layers.*: attention qkv/out, SwiGLU, token-mixing MLP). */
TRM_API bool trm_optim_muon_tensor(const trm_tensor *t);
/* Fails (-1) on a config it cannot run (unknown optimizer, muon_adam not
 * an Adam, ns_steps < 1). */
TRM_API trm_optim *trm_optim_new(const trm_model *m, const trm_optim_config *c, trm_err *err);
TRM_API void trm_optim_free(trm_optim *o);
/* One update (spec 3.3): the step counter advances; past total_steps
 * (when > 0) nothing changes and 1 is returned. Otherwise every trainable
 * tensor moves by its optimizer from its gradient, and the puzzle rows
 * used by a's last training step (a may be NULL) by sign-SGD; returns 0. */
TRM_API int trm_optim_step(trm_optim *o, trm_model *m, const trm_act *a);
/* The same with the puzzle rows given explicitly: ids [rows] and their
 * gradients [rows, puzzle_emb_ndim] (NULL: none), e.g. a data-parallel
 * run's rows of every rank (src/dist/ddp.h). */
TRM_API int trm_optim_step_rows(trm_optim *o, trm_model *m, const int32_t *ids, const float *puzzle_grad, int rows);
/* Steps taken so far (the reference's step counter). */
TRM_API int64_t trm_optim_steps(const trm_optim *o);
/* Optimizer state of tensor i of the model, for checkpointing the training
 * state: Adam's moments m (which 0) and v (which 1), or for a Muon tensor
 * its momentum buffer (which 0; which 1 is NULL). NULL for non-trainable
 * tensors. moment_name gives the state-file prefix of each buffer
 * ("adam_m.", "adam_v.", "muon_m."), NULL where moment is NULL, so a state
 * saved by one optimizer does not load silently into another.
 * set_steps restores the counter. */
TRM_API float *trm_optim_moment(trm_optim *o, int tensor, int which /* 0 = m, 1 = v */);
TRM_API const char *trm_optim_moment_name(const trm_optim *o, int tensor, int which);
TRM_API void trm_optim_set_steps(trm_optim *o, int64_t steps);

/* EMA of the trainable (Adam) parameters (spec 3.4): shadow starts as a
 * copy; update: shadow = rate * shadow + (1 - rate) * param. The puzzle
 * table and y_init/z_init are not averaged. */
typedef struct trm_ema trm_ema;
TRM_API trm_ema *trm_ema_new(const trm_model *m, float rate, trm_err *err);
TRM_API void trm_ema_free(trm_ema *e);
TRM_API void trm_ema_update(trm_ema *e, const trm_model *m);
/* Copies the shadow into dst's trainable tensors and the live model's
 * buffers (puzzle table, y_init, z_init) into dst: the model the reference
 * evaluates and saves. dst must have m's config. */
TRM_API void trm_ema_apply(const trm_ema *e, const trm_model *m, trm_model *dst);
/* Shadow of tensor i (NULL for non-trainable), for checkpoints. */
TRM_API float *trm_ema_shadow(trm_ema *e, int tensor);
/* Learning rate at step (1-based) under warm-up + cosine (spec 3.2). */
TRM_API float trm_lr_at(float base, int64_t step, int64_t warmup, int64_t total, float min_ratio);

/* ---------------------------------------------------------------- training */

/* The training graph: the reference's carry across supervision steps, or
 * none (docs/training.md, "Recipes"). */
enum { TRM_GRAPH_CARRY = 0, TRM_GRAPH_NOCARRY = 1 };

/* Training hyper-parameters, named as the reference's cfg_pretrain.yaml
 * where it has a name. Every field is also a key of
 * trm_train_config_set ("lr=1e-3"); the optimizer's keys (lr, beta1, ...,
 * optimizer, muon_*) set optim, whose defaults are
 * trm_optim_config_default's. */
typedef struct {
    int global_batch_size;
    double epochs;
    double eval_interval;          /* epochs between evaluations (0: only at the end) */
    trm_optim_config optim;        /* total_steps is the run's (from the epochs) */
    uint64_t seed;
    bool ema;
    float ema_rate;
    trm_loss_kind loss_type;
    int64_t checkpoint_every;      /* steps between state saves (0: at evals only) */
    int64_t eval_max_examples;     /* 0: the whole test split */
    int eval_batch_size;           /* 0: global_batch_size */
    int eval_steps;                /* supervision steps per evaluated puzzle (0: halt_max_steps);
                                    * a no-carry run evaluates at the depth it trains at */
    int log_every;                 /* steps between metrics records and progress callbacks */
    int64_t max_steps;             /* stop after this step (0: at S_total); schedule and eval cadence
                                    * stay as the epochs define them, steps past S_total are no-ops */
    int64_t stop_after;            /* save and stop after this many steps of one call (0: never) */
    float replay_failures;         /* fraction of fresh rows replaced by kept failures (0: off) */
    /* training-graph recipes; the defaults are the reference's */
    float label_smoothing;         /* cross entropy against (1 - eps) onehot + eps / V (0: off) */
    float step_weight;             /* carry graph: a row's loss at supervision step t weighs R^(t-1) (1: off) */
    int graph;                     /* TRM_GRAPH_CARRY (reference) or TRM_GRAPH_NOCARRY */
    int nocarry_warmup;            /* nocarry: warm-up steps drawn from [0, this] per batch (-1: halt_max_steps - 1) */
    char cycles_schedule[256];     /* "F0:T,n;F1:T,n;..." (H_cycles, L_cycles by fraction of training; "" = off) */
    char halt_schedule[256];       /* "F0:N;F1:N;..." (halt_max_steps by fraction of training; "" = off) */
    char hint_schedule[256];       /* "F0:P;F1:P;...": fresh rows show up to P percent of their unknown cells'
                                    * answers as givens, by fraction of training ("" = off; docs/training.md) */
} trm_train_config;

/* The reference's cfg_pretrain.yaml, with ema=true. */
TRM_API void trm_train_config_default(trm_train_config *c);
/* Sets a training field by name from text; returns 1 if key is not a
 * training field (so callers can try trm_config_set), 0 on success, -1
 * with "training field KEY: expected ..., got 'VALUE'" on a bad value. */
TRM_API int trm_train_config_set(trm_train_config *c, const char *key, const char *value, trm_err *err);
/* Every training field as a JSON object (malloc'd string). */
TRM_API char *trm_train_config_to_json(const trm_train_config *c);

/* What a training run reports through its callbacks. Nothing of libtrm's
 * training prints, plots or handles signals: the caller does, from these. */
typedef struct {
    int64_t step, end_step;        /* steps done, and where the run stops */
    float lr;                      /* learning rate of the last step (0 past S_total) */
    /* means over the examples (losses: over the rows) since the last report */
    double lm_loss, q_halt_loss, accuracy, exact_accuracy, q_halt_accuracy, steps;
    double examples_per_s;         /* since the last report */
    double eta_s;                  /* seconds to end_step at this call's pace so far */
    double flops;                  /* training FLOPs so far */
} trm_train_progress;

/* During an evaluation: seen of total examples done (seen = 0 before the
 * first batch), with the exact accuracy of those seen. */
typedef struct {
    int64_t step, seen, total;
    double exact_accuracy;
} trm_train_eval_progress;

/* At each evaluation point (every eval_interval epochs and the last step),
 * after metrics.jsonl got its record and before the state is saved. */
typedef struct {
    int64_t step;
    bool evaluated;                /* false: the dataset has no test split */
    bool stopped;                  /* the stop flag ended it early: partial, not logged */
    int64_t examples;
    double exact_accuracy, accuracy, q_halt_accuracy, lm_loss;
    int steps;                     /* supervision steps run */
} trm_train_eval;

typedef enum {
    TRM_TRAIN_STARTED,     /* the run is set up (resumed or fresh); training begins */
    TRM_TRAIN_INTERRUPTED, /* the stop flag was raised: state saved at step */
    TRM_TRAIN_STOPPED,     /* stop_after steps done: state saved at step */
    TRM_TRAIN_DONE,        /* end_step reached: checkpoint_path holds the model */
} trm_train_event_kind;

typedef struct {
    trm_train_event_kind kind;
    int64_t step, start_step, end_step; /* now, at this call's start, and the run's end */
    int64_t num_params;
    int batch;
    bool resumed;
    const char *data_dir, *state_path, *checkpoint_path;
} trm_train_event;

/* Any callback may be NULL; ctx is passed to each. */
typedef struct {
    void *ctx;
    void (*on_event)(void *ctx, const trm_train_event *e);
    void (*on_progress)(void *ctx, const trm_train_progress *p);      /* every log_every steps */
    void (*on_eval_progress)(void *ctx, const trm_train_eval_progress *p);
    void (*on_eval)(void *ctx, const trm_train_eval *e);
} trm_train_callbacks;

typedef struct {
    const char *data_dir;   /* dataset with train/ (and test/) */
    const char *out_dir;    /* run directory (created) */
    bool resume;            /* continue out_dir's state.safetensors */
    bool force;             /* start afresh in a run directory that is not empty */
    /* dataset fields the caller gave explicitly (0: not given); they must
     * match the dataset's */
    int vocab_size, seq_len, num_puzzle_identifiers;
    trm_train_callbacks cb;
    /* may be NULL; when it turns non-zero (e.g. from a signal handler) the
     * run ends after the step or evaluation batch at hand, saves its state
     * and returns 0 (TRM_TRAIN_INTERRUPTED) */
    const volatile sig_atomic_t *stop;
} trm_train_run_opts;

/* Runs (or resumes) a training run: the model trains on data_dir/train,
 * evaluates (EMA weights) on data_dir/test when present, and out_dir
 * receives checkpoint.safetensors (the model to use), state.safetensors
 * (an exact resume), metrics.jsonl (one JSON record per log interval and
 * evaluation) and train.lock (one run per folder). arch's vocab_size,
 * seq_len and num_puzzle_identifiers are taken from the dataset. Returns 0
 * on success (also when stopped by the stop flag or stop_after, after
 * saving).
 * Data-parallel (docs/mpi.md): in a process that joined a group of P > 1
 * ranks (`trm train` under mpirun) every rank calls this with the same
 * arguments; each trains on its slice of every batch, rank 0 alone writes
 * out_dir, all ranks agree on every failure, and a stop flag raised on
 * any rank stops all of them after the same step. Callbacks run on every
 * rank, with the whole batch's metrics (timings, and on_eval_progress's
 * exact accuracy, are the rank's own); a caller shows rank 0's. */
TRM_API int trm_train_run(const trm_config *arch, const trm_train_config *tc, const trm_train_run_opts *opts,
                  trm_err *err);

/* ---------------------------------------------------------------- checkpoints */

/* Saves weights (names "model.inner.<name>") and the config in the
 * safetensors __metadata__ under "config"; temporary file + rename. */
TRM_API int trm_checkpoint_save(const trm_model *m, const char *path, trm_err *err);
/* Loads a checkpoint written by trm or converted from the reference
 * (prefixes _orig_mod., model., inner. accepted; F32 and BF16). The
 * config in its metadata must match its tensors' names and shapes
 * (checked before the model is allocated) and keep within
 * trm_config_check_limits. Non-finite weights load (inspecting a diverged
 * run's checkpoint is legitimate) and nothing is printed: ask
 * trm_model_nonfinite, as trm's commands do to print their warning. */
TRM_API trm_model *trm_checkpoint_load(const char *path, trm_err *err);

/* The __metadata__ value `key` of a checkpoint or training state (JSON
 * text: "config", and a state's "train_config"): *out is a malloc'd copy
 * (free it with trm_free), or NULL when the file has no such key; -1 with
 * an error naming the file when it cannot be read. */
TRM_API int trm_checkpoint_metadata(const char *path, const char *key, char **out, trm_err *err);

/* Tensors of m holding NaN or infinite values. */
typedef struct {
    int tensors;            /* how many tensors hold some; 0 = all finite */
    const char *first;      /* the first of them (valid while m lives), or NULL */
    int64_t first_count;    /* its non-finite values */
    int64_t first_numel;    /* and all its values */
} trm_nonfinite;
/* Scans m's weights and returns out->tensors. A file-mapped puzzle table
 * over 64 MiB is not scanned (reading it would undo the lazy mapping). */
TRM_API int trm_model_nonfinite(const trm_model *m, trm_nonfinite *out);

/* ---------------------------------------------------------------- matmul */

typedef enum {
    TRM_MATMUL_BLAS = 0,      /* OpenBLAS (when compiled in) */
    TRM_MATMUL_PORTABLE = 1,  /* plain C */
    TRM_MATMUL_AVX512 = 2,    /* the project's AVX-512 kernels (CPU permitting) */
    TRM_MATMUL_ONEDNN = 3,    /* oneDNN's fp32 GEMM (libdnnl.so.2, loaded at run
                                 time) for large products, the project's
                                 kernels for the rest */
    TRM_MATMUL_AVX2 = 4,      /* the project's AVX2 + FMA kernels */
    TRM_MATMUL_NEON = 5,      /* the project's ARM64 NEON kernels */
} trm_matmul_backend;
/* The SIMD kernels (products, norms, softmax, SwiGLU, transposes,
 * AdamATan2) run on one instruction set per process, chosen at run time:
 * on x86-64 AVX-512F when the CPU has it, else AVX2 + FMA, else portable C
 * (the binary runs on any x86-64); on ARM64 NEON (part of ARMv8-A). The
 * environment variable TRM_CPU=native|avx512|avx2|neon|portable overrides
 * it (avx2 also on an AVX-512 CPU, to test or measure that path);
 * trm_cpu_check_env refuses an ISA the CPU lacks (the CLI stops with its
 * message).
 * Selects the matmul backend for the whole process. Default: onednn when
 * the ISA is avx512 or avx2 and libdnnl.so.2 loads, else the ISA's own
 * kernels (avx512 / avx2; on ARM64 OpenBLAS when compiled in, its kernels
 * being tuned per ARM core, else neon), else BLAS when compiled in, else
 * portable; the environment variable
 * TRM_MATMUL=onednn|avx512|avx2|neon|openblas|portable
 * overrides the default (sanitizer builds load oneDNN only when asked
 * so). A backend this build, machine or ISA lacks is refused (avx512,
 * avx2 and neon each need that ISA to be the active one). Returns the backend in
 * effect. */
TRM_API trm_matmul_backend trm_matmul_set_backend(trm_matmul_backend b);
TRM_API trm_matmul_backend trm_matmul_get_backend(void);
TRM_API const char *trm_matmul_backend_name(trm_matmul_backend b);
/* The backend a name means: "onednn", "avx512", "avx2", "neon", "openblas" (or "blas"),
 * "portable", as TRM_MATMUL and `trm bench --matmul` take them. 0, or -1
 * (*out untouched) for any other name. */
TRM_API int trm_matmul_backend_parse(const char *name, trm_matmul_backend *out);

/* Precision of every matrix product: fp32, or bf16 operands (weights and
 * activations rounded to bf16 as they are packed) with fp32 accumulation,
 * on AVX512-BF16 (vdpbf16ps; emulated on other AVX-512 CPUs). Everything
 * else (norms, softmax, losses, optimizer, master weights) stays fp32.
 * bf16 needs the avx512 ISA (an AVX-512 CPU, not TRM_CPU=avx2) and uses
 * the avx512 kernels whatever the
 * backend; returns the precision in effect. Default fp32, or bf16 when
 * the environment has TRM_PRECISION=bf16. */
typedef enum { TRM_PRECISION_FP32 = 0, TRM_PRECISION_BF16 = 1 } trm_precision;
TRM_API trm_precision trm_matmul_set_precision(trm_precision p);
TRM_API trm_precision trm_matmul_get_precision(void);

/* ---------------------------------------------------------------- datasets */

/* Building a dataset in the reference's format (DIR/train, DIR/test,
 * DIR/identifiers.json) from a task family's sources: the work behind
 * `trm data sudoku|sudoku4|maze|arc` (`trm data BUILDER --help` describes
 * each option). Everything is read and checked before anything is written; a
 * failure leaves no partial output (a DIR the call created is removed).
 * The library prints nothing: informational lines and progress go to the
 * callbacks. */
typedef struct {
    /* what every family reads */
    const char *out;          /* output directory (created if missing) */
    const char *input;        /* comma-separated sources (sudoku, maze) */
    const char *test_input;   /* comma-separated test sources, or NULL */
    long train_size;          /* -1: all minus test (sudoku, maze); sudoku4: the count */
    long test_size;           /* test items drawn from input (or, sudoku, from test_input) */
    bool test_size_set;       /* test_size was given (sudoku: a draw of test_input) */
    uint64_t seed;
    struct {                  /* Sudoku (task "sudoku") */
        long aug;             /* augmented versions per train puzzle */
        long min_nodes;       /* keep puzzles whose solver search needs >= this */
        long blanks, blanks_max; /* re-blank questions with blanks (or, when
                                    blanks_max > blanks, blanks..blanks_max)
                                    cells; 0: keep them */
        const char *holdout;  /* files whose solution grids leave the pools */
        const char *ratings;  /* per-puzzle ratings CSV, or NULL */
        bool test_only;       /* write only DIR/test */
    } sudoku;
    struct { int blanks; } sudoku4;    /* blank cells per puzzle, 1..12 */
    struct { bool aug; } maze;         /* the 8 dihedral images of each train maze */
    struct {                  /* ARC (task "arc"), as build_arc_dataset.py */
        const char *input_prefix;      /* Kaggle files P_S_challenges.json */
        const char *subsets;           /* "NAME,NAME=DIR,..." */
        const char *test_set, *test_set2;
        long num_aug;
        bool skip_bad;                 /* leave out malformed tasks (noted) */
    } arc;
    /* An informational line (no newline), e.g. the usable inputs and what
     * was dropped; NULL: none. */
    void (*note)(void *ctx, const char *line);
    /* done of total items of one stage, and a line saying so (e.g. "train
     * 12/100 groups (300 examples/s)"); called once per item; NULL: none. */
    void (*progress)(void *ctx, const char *line, long done, long total);
    void *ctx;
} trm_build_opts;

/* What a build wrote. */
typedef struct {
    long train_groups, train_puzzles, train_examples;
    long test_groups, test_puzzles, test_examples;
    long identifiers;   /* including "<blank>" */
    long leaks_dropped; /* sudoku: puzzles sharing a solution grid with a held-out one */
    long short_groups;  /* arc: tasks with fewer than num_aug + 1 distinct versions */
    char *ratings_json; /* sudoku: "\"train\":{..},\"test\":{..}" rating distributions
                           (malloc'd; trm_build_result_free) */
} trm_build_result;

/* The defaults of task's builder (the CLI's): e.g. sudoku min_nodes 1,
 * sudoku4 2000/200 puzzles with 8 blanks, arc subsets
 * training,evaluation,concept, test set evaluation, 1000 versions, seed 42. */
TRM_API void trm_build_opts_init(trm_build_opts *o, const char *task);
/* Builds task's dataset ("sudoku", "sudoku4", "maze", "arc"); 0, or -1
 * with a one-line message (naming the file and line of a bad input). */
TRM_API int trm_build_dataset(const char *task, const trm_build_opts *o, trm_build_result *res, trm_err *err);
TRM_API void trm_build_result_free(trm_build_result *res);

/* Generating new puzzles as question,answer CSV (the builders' input):
 * the work behind `trm data sudoku-gen|maze-gen`. Puzzle k draws from its
 * own RNG stream, so the file is the same for a seed whatever the
 * threads. Written to OUT.tmp.<pid>, then renamed: no partial output. */
typedef struct {
    const char *out;          /* the CSV file */
    long count;               /* puzzles to generate, >= 1 */
    uint64_t seed;
    struct {                  /* task "sudoku": one solution each */
        long min_nodes;       /* difficulty: solver search nodes >= this */
        long min_blanks;      /* at least this many blank cells */
        long max_tries;       /* full grids tried per puzzle */
    } sudoku;
    struct {                  /* task "maze": n x n, S and G far apart */
        int side, min_path;   /* board side; shortest path >= min_path moves */
        float wall_lo, wall_hi; /* range of the wall probability */
        bool unique;          /* exactly one shortest path (the label) */
        long max_tries;       /* random boards per maze */
    } maze;
    /* done of total puzzles after secs; called from the generating
     * threads one at a time (after each puzzle); NULL: none. */
    void (*progress)(void *ctx, long done, long total, double secs);
    void *ctx;
} trm_gen_opts;

typedef struct {
    double secs;                  /* time taken */
    int path_min, path_max;       /* maze: shortest path lengths (moves) */
    double path_mean;
} trm_gen_result;

/* task's generator defaults (the CLI's). */
TRM_API void trm_gen_opts_init(trm_gen_opts *o, const char *task);
/* Generates o->count puzzles of task ("sudoku", "maze") into o->out; 0, or
 * -1 with a one-line message (a puzzle whose target was not reached). */
TRM_API int trm_generate_puzzles(const char *task, const trm_gen_opts *o, trm_gen_result *res, trm_err *err);
/* 0 when TRM_CPU is unset, "native" or an ISA this CPU runs; else -1 with
 * one line in err ("TRM_CPU=avx512: this CPU lacks AVX-512F ..."). */
TRM_API int trm_cpu_check_env(trm_err *err);
/* The kernels' instruction set in effect: "avx512", "avx2", "neon" or "portable". */
TRM_API const char *trm_cpu_isa_active(void);

/* ---------------------------------------------------------------- bindings */

/* Helpers for callers that cannot include this header (Python's ctypes,
 * other FFIs): heap objects and key=value setters in place of struct
 * layouts, and JSON text in place of report structs. */

/* Frees memory libtrm returned (trm_config_to_json, ...). */
TRM_API void trm_free(void *p);
/* A heap config: preset `preset` (trm_config_preset), or the reference
 * defaults when preset is NULL or "". Free with trm_free. */
TRM_API trm_config *trm_config_new(const char *preset, trm_err *err);
/* A heap training config with trm_train_config_default's values; set
 * fields with trm_train_config_set. Free with trm_free. */
TRM_API trm_train_config *trm_train_config_new(void);

/* trm_train_run with the callbacks as one function receiving each report
 * as a one-line JSON object: {"type":"event","kind":"started"|
 * "interrupted"|"stopped"|"done",...}, {"type":"progress","step":..,
 * "lm_loss":..,...}, {"type":"eval_progress",...} and {"type":"eval",...}
 * (the fields of trm_train_event / _progress / _eval_progress / _eval).
 * A non-zero return from fn stops the run as trm_train_run_opts.stop
 * does (state saved, 0 returned). fn may be NULL. */
typedef int (*trm_train_json_fn)(void *ctx, const char *record);
TRM_API int trm_train_run_json(const trm_config *arch, const trm_train_config *tc, const char *data_dir,
                       const char *out_dir, bool resume, bool force, trm_train_json_fn fn, void *ctx,
                       trm_err *err);

/* trm_build_dataset with its options set by name: a builder of task's
 * defaults (trm_build_opts_init), then trm_build_args_set(b, key, value)
 * for keys out, input, test_input, train_size, test_size, seed and the
 * family's: sudoku aug, min_nodes, blanks, blanks_max, holdout, ratings,
 * test_only; sudoku4 blanks; maze aug; arc input_prefix, subsets,
 * test_set, test_set2, num_aug, skip_bad (booleans: true/false/1/0).
 * set fails with "build option KEY: ..." naming what was expected. */
typedef struct trm_build_args trm_build_args;
TRM_API trm_build_args *trm_build_args_new(const char *task, trm_err *err);
TRM_API int trm_build_args_set(trm_build_args *b, const char *key, const char *value, trm_err *err);
TRM_API int trm_build_args_run(trm_build_args *b, trm_build_result *res, trm_err *err);
TRM_API void trm_build_args_free(trm_build_args *b);

#ifdef __cplusplus
}
#endif
#endif /* TRM_H */
