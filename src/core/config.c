/* config.c - the architecture config: defaults, presets, validation, JSON.
 *
 * Field names are the reference's (config/arch/trm.yaml and the model's
 * config class) so configs travel between trm and PyTorch unchanged.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keyval.h"
#include "trm.h"

/* ------------------------------------------------------------ defaults */

void trm_config_default(trm_config *c) {
    memset(c, 0, sizeof *c);
    c->hidden_size = 512;
    c->num_heads = 8;
    c->expansion = 4.0f;
    c->L_layers = 2;
    c->H_cycles = 3;
    c->L_cycles = 6;
    c->halt_max_steps = 16;
    c->halt_exploration_prob = 0.1f;
    c->pos_encodings = TRM_POS_ROPE;
    c->mlp_t = false;
    c->puzzle_emb_ndim = 512;
    c->puzzle_emb_len = 16;
    c->rms_norm_eps = 1e-5f;
    c->rope_theta = 10000.0f;
    c->vocab_size = 0;
    c->seq_len = 0;
    c->num_puzzle_identifiers = 1;
}

/* ------------------------------------------------------------ presets */

typedef struct {
    const char *name;
    bool mlp_t;
    int L_cycles, vocab, seq_len, num_ids;
} preset;

/* The paper's runs (spec 3.6); vocab/seq_len/ids come from the datasets. */
static const preset PRESETS[] = {
    {"sudoku-mlp", true, 6, 11, 81, 1},
    {"sudoku-att", false, 6, 11, 81, 1},
    {"maze-att", false, 4, 6, 900, 1},
    {"arc1-att", false, 4, 12, 900, 876406},
    {"arc2-att", false, 4, 12, 900, 1191730},
};

const char *trm_preset_names(void) {
    return "sudoku-mlp, sudoku-att, maze-att, arc1-att, arc2-att, tiny";
}

int trm_config_preset(trm_config *c, const char *name, trm_err *err) {
    trm_config_default(c);
    if (strcmp(name, "tiny") == 0) {
        /* small enough to train for a few steps on a laptop in seconds */
        c->hidden_size = 64;
        c->num_heads = 4;
        c->H_cycles = 2;
        c->L_cycles = 2;
        c->halt_max_steps = 8;
        c->puzzle_emb_ndim = 64;
        c->puzzle_emb_len = 1;
        c->vocab_size = 11;
        c->seq_len = 81;
        return 0;
    }
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++) {
        const preset *p = &PRESETS[i];
        if (strcmp(name, p->name) != 0) continue;
        c->mlp_t = p->mlp_t;
        c->pos_encodings = p->mlp_t ? TRM_POS_NONE : TRM_POS_ROPE;
        c->L_cycles = p->L_cycles;
        c->vocab_size = p->vocab;
        c->seq_len = p->seq_len;
        c->num_puzzle_identifiers = p->num_ids;
        return 0;
    }
    return trm_errf(err, "unknown preset '%s' (expected one of: %s)", name,
                    trm_preset_names());
}

/* ------------------------------------------------------------ derived */

int trm_config_prefix_len(const trm_config *c) {
    if (c->puzzle_emb_len > 0) return c->puzzle_emb_len;
    return (c->puzzle_emb_ndim + c->hidden_size - 1) / c->hidden_size;
}

int trm_config_total_len(const trm_config *c) {
    return trm_config_prefix_len(c) + c->seq_len;
}

/* round() in the reference is Python's, which rounds halves to even: rint
 * under the default rounding mode does the same. */
int trm_swiglu_width(int h_in, float expansion) {
    long inter = (long)rint((double)expansion * h_in * 2.0 / 3.0);
    return (int)((inter + 255) / 256 * 256);
}

/* Same count as the model's tensor table (a test checks both agree). */
int64_t trm_config_num_params(const trm_config *c) {
    int64_t D = c->hidden_size, V = c->vocab_size, L = trm_config_total_len(c);
    int64_t I = trm_swiglu_width(c->hidden_size, c->expansion);
    int64_t block = 2 * I * D + D * I;
    if (c->mlp_t) {
        int64_t It = trm_swiglu_width((int)L, c->expansion);
        block += 2 * It * L + L * It;
    } else {
        block += 3 * D * D + D * D;
    }
    int64_t n = c->L_layers * block + 2 * V * D + 2 * D + 2;
    if (c->pos_encodings == TRM_POS_LEARNED) n += L * D;
    return n;
}

const char *trm_pos_encoding_name(trm_pos_encoding p) {
    switch (p) {
    case TRM_POS_ROPE: return "rope";
    case TRM_POS_LEARNED: return "learned";
    default: return "none";
    }
}

/* ------------------------------------------------------------ validation */

#define REQUIRE(cond, ...) do { if (!(cond)) return trm_errf(err, __VA_ARGS__); } while (0)

int trm_config_validate(const trm_config *c, trm_err *err) {
    REQUIRE(c->hidden_size > 0 && c->hidden_size <= 65536,
            "config field hidden_size: expected 1..65536, got %d", c->hidden_size);
    REQUIRE(c->expansion > 0 && c->expansion <= 64 && isfinite(c->expansion),
            "config field expansion: expected a number in (0, 64], got %g", c->expansion);
    REQUIRE(c->L_layers >= 1 && c->L_layers <= 64,
            "config field L_layers: expected 1..64, got %d", c->L_layers);
    REQUIRE(c->H_cycles >= 1 && c->H_cycles <= 1000,
            "config field H_cycles: expected 1..1000, got %d", c->H_cycles);
    REQUIRE(c->L_cycles >= 1 && c->L_cycles <= 1000,
            "config field L_cycles: expected 1..1000, got %d", c->L_cycles);
    REQUIRE(c->halt_max_steps >= 1 && c->halt_max_steps <= 100000,
            "config field halt_max_steps: expected 1..100000, got %d", c->halt_max_steps);
    REQUIRE(c->halt_exploration_prob >= 0 && c->halt_exploration_prob <= 1,
            "config field halt_exploration_prob: expected a probability in [0, 1], got %g",
            c->halt_exploration_prob);
    REQUIRE(c->rms_norm_eps > 0 && isfinite(c->rms_norm_eps),
            "config field rms_norm_eps: expected a finite number > 0, got %g", c->rms_norm_eps);
    REQUIRE(c->rope_theta > 0 && isfinite(c->rope_theta),
            "config field rope_theta: expected a finite number > 0, got %g", c->rope_theta);
    REQUIRE(c->vocab_size >= 2 && c->vocab_size <= 1000000,
            "config field vocab_size: expected 2..1000000, got %d", c->vocab_size);
    REQUIRE(c->seq_len >= 1 && c->seq_len <= 1000000,
            "config field seq_len: expected 1..1000000, got %d", c->seq_len);
    REQUIRE(c->num_puzzle_identifiers >= 1 && c->num_puzzle_identifiers <= 100000000,
            "config field num_puzzle_identifiers: expected 1..100000000, got %d",
            c->num_puzzle_identifiers);
    REQUIRE(c->puzzle_emb_ndim >= 0 && c->puzzle_emb_len >= 0 && c->puzzle_emb_len <= 4096,
            "config fields puzzle_emb_ndim/puzzle_emb_len: expected >= 0 (len <= 4096), got %d/%d",
            c->puzzle_emb_ndim, c->puzzle_emb_len);
    /* the reference concatenates no prefix without a puzzle embedding, so a
     * nonzero length would make its carry and its input disagree */
    REQUIRE(c->puzzle_emb_ndim > 0 || c->puzzle_emb_len == 0,
            "config field puzzle_emb_len: must be 0 when puzzle_emb_ndim is 0, got %d",
            c->puzzle_emb_len);
    REQUIRE((long)c->puzzle_emb_ndim <= (long)trm_config_prefix_len(c) * c->hidden_size,
            "config field puzzle_emb_ndim: %d does not fit in puzzle_emb_len %d x hidden_size %d",
            c->puzzle_emb_ndim, c->puzzle_emb_len, c->hidden_size);
    if (!c->mlp_t) {
        REQUIRE(c->num_heads >= 1 && c->hidden_size % c->num_heads == 0,
                "config field num_heads: expected a divisor of hidden_size %d, got %d",
                c->hidden_size, c->num_heads);
        REQUIRE(c->pos_encodings != TRM_POS_ROPE || (c->hidden_size / c->num_heads) % 2 == 0,
                "config field num_heads: RoPE needs an even head_dim, got %d",
                c->hidden_size / c->num_heads);
    }
    REQUIRE(c->pos_encodings >= TRM_POS_NONE && c->pos_encodings <= TRM_POS_LEARNED,
            "config field pos_encodings: expected rope, learned or none");
    return 0;
}

/* ------------------------------------------------------------ limits */

/* Far above every paper configuration (hidden 512, 2 layers, T 3, n 6,
 * 16 steps), low enough that a file cannot ask for an unbounded run. */
static const struct {
    const char *name;
    size_t offset;
    int cap;
} LIMITS[] = {
    {"hidden_size", offsetof(trm_config, hidden_size), TRM_LIMIT_HIDDEN_SIZE},
    {"L_layers", offsetof(trm_config, L_layers), TRM_LIMIT_LAYERS},
    {"H_cycles", offsetof(trm_config, H_cycles), TRM_LIMIT_CYCLES},
    {"L_cycles", offsetof(trm_config, L_cycles), TRM_LIMIT_CYCLES},
    {"halt_max_steps", offsetof(trm_config, halt_max_steps), TRM_LIMIT_HALT_MAX_STEPS},
};

int trm_config_check_limits(const trm_config *c, trm_err *err) {
    const char *env = getenv("TRM_CONFIG_LIMITS");
    if (env && strcmp(env, "off") == 0) return 0;
    for (size_t i = 0; i < sizeof LIMITS / sizeof LIMITS[0]; i++) {
        int v = *(const int *)((const char *)c + LIMITS[i].offset);
        if (v > LIMITS[i].cap)
            return trm_errf(err, "config field %s: %d is over the limit %d for a config read from a "
                            "file (TRM_CONFIG_LIMITS=off lifts it)", LIMITS[i].name, v, LIMITS[i].cap);
    }
    return 0;
}

/* ------------------------------------------------------------ fields */

_Static_assert(sizeof(trm_pos_encoding) == sizeof(int), "KV_ENUM stores an int");
static const kv_name POS_NAMES[] = {
    {"rope", TRM_POS_ROPE, false}, {"learned", TRM_POS_LEARNED, false}, {"none", TRM_POS_NONE, false}, {NULL, 0, false}};

#define FIELD(n, k) KV_F(trm_config, n, k)
static const kv_field FIELDS[] = {
    FIELD(hidden_size, KV_INT), FIELD(num_heads, KV_INT), FIELD(expansion, KV_FLOAT),
    FIELD(L_layers, KV_INT), FIELD(H_cycles, KV_INT), FIELD(L_cycles, KV_INT),
    FIELD(halt_max_steps, KV_INT), FIELD(halt_exploration_prob, KV_FLOAT),
    {.name = "pos_encodings", .type = KV_ENUM, .off = offsetof(trm_config, pos_encodings), .names = POS_NAMES},
    FIELD(mlp_t, KV_BOOL), FIELD(puzzle_emb_ndim, KV_INT),
    FIELD(puzzle_emb_len, KV_INT), FIELD(rms_norm_eps, KV_FLOAT), FIELD(rope_theta, KV_FLOAT),
    FIELD(vocab_size, KV_INT), FIELD(seq_len, KV_INT), FIELD(num_puzzle_identifiers, KV_INT),
};
static const kv_table TABLE = {"config field", FIELDS, sizeof FIELDS / sizeof FIELDS[0], KV_SIGNED, false};

/* Reference config keys that are not architecture (or are fixed in TRM):
 * accepted and ignored so a reference all_config.yaml arch section loads. */
static const char *IGNORED[] = {"batch_size", "H_layers", "forward_dtype", "name", "loss",
                                "no_ACT_continue", NULL};

static bool is_ignored(const char *key) {
    for (int i = 0; IGNORED[i]; i++)
        if (strcmp(IGNORED[i], key) == 0) return true;
    return false;
}

int trm_config_set(trm_config *c, const char *key, const char *value, trm_err *err) {
    int rc = kv_set(&TABLE, c, key, value, err);
    if (rc != 1) return rc;
    char names[400];
    kv_list_names(&TABLE, names, sizeof names);
    return trm_errf(err, "unknown config field '%s' (expected one of: %s)", key, names);
}

/* ------------------------------------------------------------ JSON */

char *trm_config_to_json(const trm_config *c) {
    cJSON *o = kv_to_json(&TABLE, c);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

int trm_config_from_json(trm_config *c, const char *json, trm_err *err) {
    cJSON *o = cJSON_Parse(json);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return trm_errf(err, "config: expected a JSON object");
    }
    int rc = 0;
    for (const cJSON *it = o->child; it && rc == 0; it = it->next) {
        const kv_field *f = kv_find(&TABLE, it->string);
        if (f) rc = kv_set_json(&TABLE, c, f, it, err);
        else if (!strcmp(it->string, "no_ACT_continue") && cJSON_IsFalse(it))
            rc = trm_errf(err, "config field no_ACT_continue: only true (TRM's default) is supported");
        else if (!is_ignored(it->string))
            rc = trm_errf(err, "config: unknown field '%s'", it->string);
    }
    cJSON_Delete(o);
    return rc;
}
