/* test_checkpoint.c - trm_checkpoint_save / trm_checkpoint_load.
 *
 * Round trips (attention + learned positions, mlp_t), the on-disk names
 * and metadata, the reference's name prefixes, BF16 weights, config
 * defaults, one test per malformed checkpoint (each error must name the
 * file and the offending tensor or field), and the atomic save. Every file
 * lives in a private mkdtemp directory removed at the end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "model/model.h" /* white-box: reads the model and ACT state directly */
#include "trm.h"
#include "testutil.h"

#include "gradcheck.h"

/* ---------------------------------------------------------------- fixtures */

TU_TMP_DIR_GROUP(group_setup, group_teardown, "/tmp/trm_ckpt_XXXXXX")

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Number of entries of the temp dir whose name contains needle. */
static int count_entries(const char *needle) {
    DIR *d = opendir(tu_dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strstr(e->d_name, needle))
            n++;
    closedir(d);
    return n;
}

static void write_file(const char *path, const void *buf, size_t len) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (len) assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static long file_size(const char *path) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (long)st.st_size;
}

/* ---------------------------------------------------------------- models */

/* The small attention config of the brief, with learned positions and a
 * few non-default scalars so that the config round trip means something. */
static void cfg_att(trm_config *c) {
    trm_config_default(c);
    c->hidden_size = 32;
    c->num_heads = 2;
    c->expansion = 2.5f;
    c->L_layers = 2;
    c->H_cycles = 2;
    c->L_cycles = 3;
    c->halt_max_steps = 5;
    c->halt_exploration_prob = 0.25f;
    c->pos_encodings = TRM_POS_LEARNED;
    c->puzzle_emb_ndim = 32;
    c->puzzle_emb_len = 2;
    c->rms_norm_eps = 1e-6f;
    c->rope_theta = 5000.0f;
    c->vocab_size = 5;
    c->seq_len = 9;
    c->num_puzzle_identifiers = 3;
}

static void cfg_mlp(trm_config *c) {
    trm_config_default(c);
    c->hidden_size = 32;
    c->num_heads = 2;
    c->L_layers = 2;
    c->mlp_t = true;
    c->pos_encodings = TRM_POS_NONE;
    c->puzzle_emb_ndim = 32;
    c->puzzle_emb_len = 0; /* ceil(32 / 32) = 1 prefix position */
    c->vocab_size = 5;
    c->seq_len = 9;
    c->num_puzzle_identifiers = 3;
}


/* A model whose every tensor (buffers included, which init leaves zero or
 * constant) holds distinct random values, plus a few special bit patterns
 * in the first one: -0, a subnormal, infinities and a NaN with payload. */
static trm_model *random_model(const trm_config *c, uint64_t seed) {
    trm_err err = {{0}};
    trm_model *m = trm_model_new(c, seed, &err);
    if (!m) fail_msg("trm_model_new: %s", err.msg);
    gc_rng r;
    gc_seed(&r, seed * 7919 + 1);
    for (int i = 0; i < m->n_tensors; i++)
        gc_fill_normal(&r, m->tensors[i].data, (size_t)m->tensors[i].numel, 0.5f);
    uint32_t bits[] = {0x80000000u, 0x00000001u, 0x7f800000u, 0xff800000u, 0x7fc12345u};
    assert_true(m->tensors[0].numel >= 5);
    memcpy(m->tensors[0].data, bits, sizeof bits);
    return m;
}

/* Every tensor of a equals the same-named tensor of b, bit for bit. */
static void assert_models_equal(const trm_model *a, trm_model *b) {
    assert_int_equal(a->n_tensors, b->n_tensors);
    for (int i = 0; i < a->n_tensors; i++) {
        const trm_tensor *t = &a->tensors[i];
        trm_tensor *u = trm_model_find(b, t->name);
        if (!u) fail_msg("tensor %s missing after load", t->name);
        assert_int_equal(t->ndim, u->ndim);
        for (int d = 0; d < t->ndim; d++) assert_int_equal(t->shape[d], u->shape[d]);
        assert_int_equal(t->numel, u->numel);
        if (memcmp(t->data, u->data, sizeof(float) * (size_t)t->numel) != 0)
            fail_msg("tensor %s differs after load", t->name);
    }
}

static trm_model *load_ok(const char *path) {
    trm_err err = {{0}};
    trm_model *m = trm_checkpoint_load(path, &err);
    if (!m) fail_msg("trm_checkpoint_load(%s): %s", path, err.msg);
    return m;
}

/* trm_checkpoint_load must fail, naming the file and every needle, on one
 * line. */
static void expect_load_error(const char *path, const char *n1, const char *n2, const char *n3) {
    trm_err err = {{0}};
    trm_model *m = trm_checkpoint_load(path, &err);
    if (m) {
        trm_model_free(m);
        fail_msg("trm_checkpoint_load(%s) succeeded on a bad checkpoint", path);
    }
    assert_true(err.msg[0] != 0);
    assert_contains(err.msg, path);
    if (n1) assert_contains(err.msg, n1);
    if (n2) assert_contains(err.msg, n2);
    if (n3) assert_contains(err.msg, n3);
    assert_null(strchr(err.msg, '\n'));
}

/* ---------------------------------------------------------------- custom writer */

/* How write_custom deviates from what trm_checkpoint_save would write.
 * Tensor selectors are bare names (without prefix). */
typedef struct {
    const char *prefix;      /* name prefix; NULL = "model.inner." */
    const char *config;      /* __metadata__.config; NULL = the model's */
    bool no_config;          /* omit __metadata__.config */
    const char *skip;        /* leave this tensor out */
    const char *bf16;        /* write this tensor as BF16 ("*" = all) */
    const char *as_i32;      /* write this tensor's bytes as I32 */
    const char *transpose;   /* write this 2-D tensor with its shape swapped */
    const char *extra;       /* add one more [2] F32 tensor with this full name */
    const char *dup;         /* also add this tensor under its bare name */
} wopts;

static void write_custom(const char *path, const trm_model *m, const wopts *o) {
    trm_err err = {{0}};
    st_writer *w = st_writer_new();
    assert_non_null(w);
    char *cfg = trm_config_to_json(&m->cfg);
    assert_non_null(cfg);
    if (!o->no_config) assert_int_equal(st_writer_meta(w, "config", o->config ? o->config : cfg, &err), 0);
    assert_int_equal(st_writer_meta(w, "format", "pt", &err), 0);
    uint16_t **half = calloc((size_t)m->n_tensors, sizeof *half);
    assert_non_null(half);
    const char *prefix = o->prefix ? o->prefix : "model.inner.";
    for (int i = 0; i < m->n_tensors; i++) {
        const trm_tensor *t = &m->tensors[i];
        if (o->skip && !strcmp(o->skip, t->name)) continue;
        char name[200];
        snprintf(name, sizeof name, "%s%s", prefix, t->name);
        int64_t shape[4] = {t->shape[0], t->shape[1], t->shape[2], t->shape[3]};
        if (o->transpose && !strcmp(o->transpose, t->name)) {
            assert_int_equal(t->ndim, 2);
            shape[0] = t->shape[1];
            shape[1] = t->shape[0];
        }
        st_dtype dt = ST_F32;
        const void *data = t->data;
        if (o->bf16 && (!strcmp(o->bf16, "*") || !strcmp(o->bf16, t->name))) {
            half[i] = malloc(sizeof(uint16_t) * (size_t)t->numel);
            assert_non_null(half[i]);
            for (int64_t k = 0; k < t->numel; k++) {
                uint32_t u;
                memcpy(&u, &t->data[k], 4);
                assert_int_equal(u & 0xffffu, 0); /* caller chose exact values */
                half[i][k] = (uint16_t)(u >> 16);
            }
            dt = ST_BF16;
            data = half[i];
        }
        if (o->as_i32 && !strcmp(o->as_i32, t->name)) dt = ST_I32;
        if (st_writer_add(w, name, dt, t->ndim, shape, data, &err)) fail_msg("%s", err.msg);
        if (o->dup && !strcmp(o->dup, t->name) &&
            st_writer_add(w, t->name, ST_F32, t->ndim, t->shape, t->data, &err))
            fail_msg("%s", err.msg);
    }
    static const float two[2] = {1.0f, 2.0f};
    int64_t two_shape[1] = {2};
    if (o->extra && st_writer_add(w, o->extra, ST_F32, 1, two_shape, two, &err))
        fail_msg("%s", err.msg);
    if (st_writer_write(w, path, &err)) fail_msg("st_writer_write: %s", err.msg);
    st_writer_free(w);
    for (int i = 0; i < m->n_tensors; i++) free(half[i]);
    free(half);
    free(cfg);
}

/* A small valid model shared by the error tests. */
static trm_model *small_model(void) {
    trm_config c;
    cfg_att(&c);
    return random_model(&c, 5);
}

/* ---------------------------------------------------------------- round trips */

static void round_trip(const trm_config *c, const char *file) {
    trm_model *m = random_model(c, 42);
    trm_err err = {{0}};
    const char *p = tpath(file);
    if (trm_checkpoint_save(m, p, &err)) fail_msg("save: %s", err.msg);
    trm_model *l = load_ok(p);
    assert_true(cfg_equal(&m->cfg, &l->cfg));
    assert_models_equal(m, l);
    assert_int_equal(trm_model_num_params(m), trm_model_num_params(l));
    /* saving the loaded model gives the same bytes (deterministic output) */
    const char *p2 = tpath("again.safetensors");
    if (trm_checkpoint_save(l, p2, &err)) fail_msg("save: %s", err.msg);
    long n = file_size(p);
    assert_int_equal(n, file_size(p2));
    FILE *a = fopen(p, "rb"), *b = fopen(p2, "rb");
    assert_non_null(a);
    assert_non_null(b);
    char *ba = malloc((size_t)n), *bb = malloc((size_t)n);
    assert_non_null(ba);
    assert_non_null(bb);
    assert_int_equal(fread(ba, 1, (size_t)n, a), n);
    assert_int_equal(fread(bb, 1, (size_t)n, b), n);
    assert_memory_equal(ba, bb, (size_t)n);
    fclose(a);
    fclose(b);
    free(ba);
    free(bb);
    trm_model_free(m);
    trm_model_free(l);
}

static void test_round_trip_attention_learned(void **state) {
    (void)state;
    trm_config c;
    cfg_att(&c);
    round_trip(&c, "att.safetensors");
}

static void test_round_trip_mlp_t(void **state) {
    (void)state;
    trm_config c;
    cfg_mlp(&c);
    round_trip(&c, "mlp.safetensors");
}

/* Names "model.inner.<name>", F32, the model's shapes, and a "config"
 * metadata entry holding the reference's arch field names. */
static void test_saved_names_and_metadata(void **state) {
    (void)state;
    trm_model *m = small_model();
    trm_err err = {{0}};
    const char *p = tpath("names.safetensors");
    assert_int_equal(trm_checkpoint_save(m, p, &err), 0);
    st_file *f = st_open(p, &err);
    if (!f) fail_msg("st_open: %s", err.msg);
    assert_int_equal(f->n, m->n_tensors);
    for (int i = 0; i < m->n_tensors; i++) {
        const trm_tensor *t = &m->tensors[i];
        char name[200];
        snprintf(name, sizeof name, "model.inner.%s", t->name);
        const st_tensor *st = st_find(f, name);
        if (!st) fail_msg("no tensor %s in the saved file", name);
        assert_int_equal(st->dtype, ST_F32);
        assert_int_equal(st->ndim, t->ndim);
        for (int d = 0; d < t->ndim; d++) assert_int_equal(st->shape[d], t->shape[d]);
        assert_memory_equal(st->data, t->data, sizeof(float) * (size_t)t->numel);
    }
    /* the reference's names for a few tensors (spec 1.10) */
    assert_non_null(st_find(f, "model.inner.embed_tokens.embedding_weight"));
    assert_non_null(st_find(f, "model.inner.embed_pos.embedding_weight"));
    assert_non_null(st_find(f, "model.inner.L_level.layers.1.self_attn.qkv_proj.weight"));
    assert_non_null(st_find(f, "model.inner.L_level.layers.0.mlp.down_proj.weight"));
    assert_non_null(st_find(f, "model.inner.puzzle_emb.weights"));
    assert_non_null(st_find(f, "model.inner.H_init"));

    const char *json = st_metadata(f, "config");
    assert_non_null(json);
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    assert_true(cJSON_IsObject(o));
    static const char *ints[] = {"hidden_size", "num_heads", "L_layers", "H_cycles",
                                 "L_cycles", "halt_max_steps", "puzzle_emb_ndim",
                                 "puzzle_emb_len", "vocab_size", "seq_len",
                                 "num_puzzle_identifiers"};
    const int want[] = {32, 2, 2, 2, 3, 5, 32, 2, 5, 9, 3};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, ints[i]);
        if (!cJSON_IsNumber(it)) fail_msg("config lacks integer field %s", ints[i]);
        assert_true(it->valuedouble == (double)want[i]);
    }
    static const char *floats[] = {"expansion", "halt_exploration_prob", "rms_norm_eps",
                                   "rope_theta"};
    const float fwant[] = {2.5f, 0.25f, 1e-6f, 5000.0f};
    for (size_t i = 0; i < 4; i++) {
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, floats[i]);
        if (!cJSON_IsNumber(it)) fail_msg("config lacks number field %s", floats[i]);
        assert_true((float)it->valuedouble == fwant[i]);
    }
    const cJSON *pos = cJSON_GetObjectItemCaseSensitive(o, "pos_encodings");
    assert_true(cJSON_IsString(pos));
    assert_string_equal(pos->valuestring, "learned");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "mlp_t")));
    cJSON_Delete(o);
    st_close(f);
    trm_model_free(m);
}

/* Checkpoints converted from the reference carry "_orig_mod.model.inner.";
 * "inner." alone and no prefix at all load as well. */
static void test_load_prefixes(void **state) {
    (void)state;
    trm_model *m = small_model();
    static const char *prefixes[] = {"_orig_mod.model.inner.", "inner.", "", "model."};
    for (int i = 0; i < 4; i++) {
        char file[64];
        snprintf(file, sizeof file, "prefix%d.safetensors", i);
        const char *p = tpath(file);
        wopts o = {.prefix = prefixes[i]};
        write_custom(p, m, &o);
        trm_model *l = load_ok(p);
        assert_true(cfg_equal(&m->cfg, &l->cfg));
        assert_models_equal(m, l);
        trm_model_free(l);
    }
    trm_model_free(m);
}

/* Values exactly representable in bfloat16 load unchanged from BF16, both
 * for some tensors (mixed with F32) and for all of them. */
static void test_load_bf16(void **state) {
    (void)state;
    trm_config c;
    cfg_mlp(&c);
    trm_model *m = random_model(&c, 3);
    for (int i = 0; i < m->n_tensors; i++) {
        trm_tensor *t = &m->tensors[i];
        for (int64_t k = 0; k < t->numel; k++) /* 8 significant bits at most */
            t->data[k] = (float)((int)((k * 37 + i * 11) % 255) - 127) * 0.0078125f * (float)(1 << (i % 3));
    }
    m->tensors[0].data[0] = -0.0f;
    m->tensors[0].data[1] = 0x1.fep100f; /* large, 8 significant bits */

    const char *p = tpath("bf16_some.safetensors");
    wopts o = {.bf16 = "lm_head.weight"};
    write_custom(p, m, &o);
    trm_model *l = load_ok(p);
    assert_models_equal(m, l);
    trm_model_free(l);

    const char *p2 = tpath("bf16_all.safetensors");
    wopts o2 = {.bf16 = "*", .prefix = "_orig_mod.model.inner."};
    write_custom(p2, m, &o2);
    /* the file really holds BF16 */
    trm_err err = {{0}};
    st_file *f = st_open(p2, &err);
    if (!f) fail_msg("%s", err.msg);
    const st_tensor *st = st_find(f, "_orig_mod.model.inner.lm_head.weight");
    assert_non_null(st);
    assert_int_equal(st->dtype, ST_BF16);
    st_close(f);
    l = load_ok(p2);
    assert_models_equal(m, l);
    assert_true(signbit(l->tensors[0].data[0]));
    trm_model_free(l);
    trm_model_free(m);
}

/* A config without rope_theta, rms_norm_eps and halt_exploration_prob
 * takes the reference defaults 10000, 1e-5 and 0.1. */
static void test_config_defaults(void **state) {
    (void)state;
    trm_model *m = small_model();
    char *json = trm_config_to_json(&m->cfg);
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    cJSON_DeleteItemFromObjectCaseSensitive(o, "rope_theta");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "rms_norm_eps");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "halt_exploration_prob");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "H_cycles");
    char *partial = cJSON_PrintUnformatted(o);
    assert_null(strstr(partial, "rope_theta"));
    const char *p = tpath("defaults.safetensors");
    wopts w = {.config = partial};
    write_custom(p, m, &w);
    trm_model *l = load_ok(p);
    assert_true(l->cfg.rope_theta == 10000.0f);
    assert_true(l->cfg.rms_norm_eps == 1e-5f);
    assert_true(l->cfg.halt_exploration_prob == 0.1f);
    assert_int_equal(l->cfg.H_cycles, 3);
    /* the fields that were present keep their values */
    assert_int_equal(l->cfg.hidden_size, 32);
    assert_int_equal(l->cfg.L_cycles, 3);
    assert_true(l->cfg.expansion == 2.5f);
    assert_int_equal(l->cfg.pos_encodings, TRM_POS_LEARNED);
    assert_models_equal(m, l);
    trm_model_free(l);
    cJSON_free(partial);
    cJSON_Delete(o);
    free(json);
    trm_model_free(m);
}

/* ---------------------------------------------------------------- bad tensors */

static void test_missing_tensor(void **state) {
    (void)state;
    trm_model *m = small_model();
    const char *p = tpath("missing.safetensors");
    wopts o = {.skip = "q_head.bias"};
    write_custom(p, m, &o);
    expect_load_error(p, "missing tensor", "q_head.bias", NULL);
    trm_model_free(m);
}

static void test_wrong_shape(void **state) {
    (void)state;
    trm_model *m = small_model();
    const char *p = tpath("shape.safetensors");
    wopts o = {.transpose = "lm_head.weight"};
    write_custom(p, m, &o);
    expect_load_error(p, "model.inner.lm_head.weight", "expected shape [5, 32]", "got [32, 5]");
    trm_model_free(m);
}

static void test_integer_dtype(void **state) {
    (void)state;
    trm_model *m = small_model();
    const char *p = tpath("i32.safetensors");
    wopts o = {.as_i32 = "L_level.layers.0.mlp.gate_up_proj.weight"};
    write_custom(p, m, &o);
    expect_load_error(p, "L_level.layers.0.mlp.gate_up_proj.weight", "I32", "expected dtype");
    trm_model_free(m);
}

static void test_unexpected_tensor(void **state) {
    (void)state;
    trm_model *m = small_model();
    const char *p = tpath("extra.safetensors");
    wopts o = {.extra = "model.inner.foo.bias"};
    write_custom(p, m, &o);
    expect_load_error(p, "unexpected tensor", "model.inner.foo.bias", NULL);
    /* an attention tensor in an mlp_t checkpoint is just as unexpected */
    trm_config c;
    cfg_mlp(&c);
    trm_model *mm = random_model(&c, 9);
    const char *p2 = tpath("extra_attn.safetensors");
    wopts o2 = {.extra = "model.inner.L_level.layers.0.self_attn.o_proj.weight"};
    write_custom(p2, mm, &o2);
    expect_load_error(p2, "unexpected tensor", "L_level.layers.0.self_attn.o_proj.weight", "mlp_t");
    trm_model_free(mm);
    trm_model_free(m);
}

/* "model.inner.lm_head.weight" and "lm_head.weight" are the same tensor
 * once the prefix is stripped. */
static void test_duplicate_after_prefix(void **state) {
    (void)state;
    trm_model *m = small_model();
    const char *p = tpath("dup.safetensors");
    wopts o = {.dup = "lm_head.weight"};
    write_custom(p, m, &o);
    expect_load_error(p, "lm_head.weight", "twice", NULL);
    trm_model_free(m);
}

/* ---------------------------------------------------------------- bad configs */

static void test_no_config(void **state) {
    (void)state;
    trm_model *m = small_model();
    const char *p = tpath("noconfig.safetensors");
    wopts o = {.no_config = true};
    write_custom(p, m, &o);
    expect_load_error(p, "\"config\"", "__metadata__", NULL);
    trm_model_free(m);
}

static void test_config_not_json(void **state) {
    (void)state;
    trm_model *m = small_model();
    const char *p = tpath("cfgjson.safetensors");
    wopts o = {.config = "{\"hidden_size\": 32,"};
    write_custom(p, m, &o);
    expect_load_error(p, "__metadata__.config", "JSON object", NULL);
    trm_model_free(m);
}

/* Replaces field key of the model's config JSON by raw JSON text value. */
static char *config_with(const trm_model *m, const char *key, const char *value) {
    char *json = trm_config_to_json(&m->cfg);
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    assert_true(cJSON_ReplaceItemInObjectCaseSensitive(o, key, cJSON_CreateRaw(value)));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    free(json);
    return s;
}

static void test_config_wrong_type(void **state) {
    (void)state;
    trm_model *m = small_model();
    const char *p = tpath("cfgtype.safetensors");
    char *cfg = config_with(m, "hidden_size", "\"abc\"");
    wopts o = {.config = cfg};
    write_custom(p, m, &o);
    expect_load_error(p, "__metadata__.config", "hidden_size", "integer");
    cJSON_free(cfg);
    cfg = config_with(m, "mlp_t", "\"yes\"");
    o.config = cfg;
    write_custom(p, m, &o);
    expect_load_error(p, "mlp_t", "true or false", NULL);
    cJSON_free(cfg);
    cfg = config_with(m, "pos_encodings", "\"sinusoidal\"");
    o.config = cfg;
    write_custom(p, m, &o);
    expect_load_error(p, "pos_encodings", "rope", NULL);
    cJSON_free(cfg);
    trm_model_free(m);
}

static void test_config_invalid(void **state) {
    (void)state;
    trm_model *m = small_model();
    const char *p = tpath("cfgvalid.safetensors");
    char *cfg = config_with(m, "num_heads", "3");
    wopts o = {.config = cfg};
    write_custom(p, m, &o);
    expect_load_error(p, "__metadata__.config", "num_heads", "divisor of hidden_size 32");
    cJSON_free(cfg);
    /* a config that is valid but describes another model: shapes disagree */
    cfg = config_with(m, "vocab_size", "6");
    o.config = cfg;
    write_custom(p, m, &o);
    expect_load_error(p, "embed_tokens.embedding_weight", "expected shape [6, 32]", "got [5, 32]");
    cJSON_free(cfg);
    /* an unknown key is refused rather than silently dropped */
    cfg = config_with(m, "hidden_size", "32, \"hiden_size\": 64");
    o.config = cfg;
    write_custom(p, m, &o);
    expect_load_error(p, "hiden_size", "unknown field", NULL);
    cJSON_free(cfg);
    trm_model_free(m);
}

/* A tiny file whose config asks for hidden_size 65536: a shape error
 * naming the tensor, found before a model of that size is allocated (it
 * used to fail as "out of memory allocating the model"). */
static void test_config_bigger_than_tensors(void **state) {
    (void)state;
    trm_model *m = small_model();
    const char *p = tpath("cfgbig.safetensors");
    char *cfg = config_with(m, "hidden_size", "65536");
    wopts o = {.config = cfg};
    write_custom(p, m, &o);
    expect_load_error(p, "embed_tokens.embedding_weight", "expected shape [5, 65536]", "got [5, 32]");
    cJSON_free(cfg);
    trm_model_free(m);
}

/* Step and cycle counts a file may ask for are capped (a checkpoint with
 * halt_max_steps 100000 ran without bound); TRM_CONFIG_LIMITS=off lifts
 * the caps. */
static void test_config_limits(void **state) {
    (void)state;
    trm_model *m = small_model();
    static const char *const cases[3][3] = {{"halt_max_steps", "100000", "limit 1024"},
                                            {"H_cycles", "1000", "limit 256"},
                                            {"L_cycles", "257", "limit 256"}};
    for (int i = 0; i < 3; i++) {
        const char *p = tpath("cfgcap.safetensors");
        char *cfg = config_with(m, cases[i][0], cases[i][1]);
        wopts o = {.config = cfg};
        write_custom(p, m, &o);
        char field[64];
        snprintf(field, sizeof field, "%s: %s is over the", cases[i][0], cases[i][1]);
        expect_load_error(p, field, cases[i][2], "TRM_CONFIG_LIMITS=off");
        setenv("TRM_CONFIG_LIMITS", "off", 1);
        trm_model *l = load_ok(p);
        unsetenv("TRM_CONFIG_LIMITS");
        trm_model_free(l);
        cJSON_free(cfg);
    }
    trm_config c = m->cfg;
    trm_err e;
    c.hidden_size = TRM_LIMIT_HIDDEN_SIZE + 2;
    assert_int_equal(trm_config_check_limits(&c, &e), -1);
    assert_contains(e.msg, "hidden_size: 8194 is over the limit 8192");
    c = m->cfg;
    c.L_layers = TRM_LIMIT_LAYERS + 1;
    assert_int_equal(trm_config_check_limits(&c, &e), -1);
    assert_contains(e.msg, "L_layers");
    assert_int_equal(trm_config_check_limits(&m->cfg, &e), 0);
    trm_model_free(m);
}

/* Loads path with stderr going to a file; returns what was written there. */
static const char *load_capturing_stderr(const char *path, trm_model **out) {
    tu_stderr_begin();
    *out = load_ok(path);
    return tu_stderr_end();
}

/* NaN and Inf weights load (inspecting a diverged run is legitimate);
 * the library prints nothing (stderr stays empty) and trm_model_nonfinite
 * names the tensor and counts, from which trm's commands print their
 * warning (tests/files.sh checks that line). */
static void test_nonfinite_weights_reported(void **state) {
    (void)state;
    trm_config c;
    cfg_att(&c);
    trm_model *m = random_model(&c, 5); /* Inf and NaN in tensors[0] */
    m->tensors[1].data[2] = NAN;        /* and one NaN in tensors[1] */
    const char *p = tpath("nan.safetensors");
    trm_err err = {{0}};
    assert_int_equal(trm_checkpoint_save(m, p, &err), 0);
    trm_model *l;
    assert_string_equal(load_capturing_stderr(p, &l), "");
    trm_nonfinite nf;
    assert_int_equal(trm_model_nonfinite(l, &nf), 2);
    assert_int_equal(nf.tensors, 2);
    assert_string_equal(nf.first, m->tensors[0].name);
    assert_int_equal(nf.first_count, 3);
    assert_int_equal(nf.first_numel, m->tensors[0].numel);
    trm_model_free(l);
    trm_model_free(m);
    m = trm_model_new(&c, 1, &err); /* the reference's initialisation: finite */
    assert_non_null(m);
    assert_int_equal(trm_checkpoint_save(m, p, &err), 0);
    assert_string_equal(load_capturing_stderr(p, &l), "");
    assert_int_equal(trm_model_nonfinite(l, &nf), 0);
    assert_null(nf.first);
    trm_model_free(l);
    trm_model_free(m);
}

/* ---------------------------------------------------------------- broken files */

static void test_truncated_file(void **state) {
    (void)state;
    trm_model *m = small_model();
    trm_err err = {{0}};
    const char *p = tpath("trunc.safetensors");
    assert_int_equal(trm_checkpoint_save(m, p, &err), 0);
    long n = file_size(p);
    /* cut 6 bytes from the last tensor's data */
    assert_int_equal(truncate(p, n - 6), 0);
    const trm_tensor *last = &m->tensors[m->n_tensors - 1];
    char name[200];
    snprintf(name, sizeof name, "model.inner.%s", last->name);
    expect_load_error(p, name, "data_offsets", "past the data section");
    /* cut deep inside the data section: some tensor is reported */
    assert_int_equal(truncate(p, n / 2), 0);
    expect_load_error(p, "tensor", "past the data section", NULL);
    trm_model_free(m);
}

static void test_header_past_eof(void **state) {
    (void)state;
    uint8_t buf[8 + 2] = {0xe8, 0x03, 0, 0, 0, 0, 0, 0, '{', '}'}; /* 1000 */
    const char *p = tpath("hdr.safetensors");
    write_file(p, buf, sizeof buf);
    expect_load_error(p, "header length 1000", "past the end", NULL);
    /* a valid checkpoint cut inside its header */
    trm_model *m = small_model();
    trm_err err = {{0}};
    const char *p2 = tpath("hdrcut.safetensors");
    assert_int_equal(trm_checkpoint_save(m, p2, &err), 0);
    assert_int_equal(truncate(p2, 100), 0);
    expect_load_error(p2, "header length", "past the end", NULL);
    trm_model_free(m);
}

static void test_empty_file(void **state) {
    (void)state;
    const char *p = tpath("empty.safetensors");
    write_file(p, "", 0);
    expect_load_error(p, "empty file", NULL, NULL);
}

static void test_nonexistent_path(void **state) {
    (void)state;
    expect_load_error(tpath("nope.safetensors"), "cannot open", "No such file", NULL);
    expect_load_error(tu_dir, "is a directory", NULL, NULL);
}

/* ---------------------------------------------------------------- atomic save */

static void test_save_into_missintu_dir(void **state) {
    (void)state;
    trm_model *m = small_model();
    trm_err err = {{0}};
    const char *dir = tpath("no_such_dir");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/ck.safetensors", dir);
    int before = count_entries("");
    assert_int_equal(trm_checkpoint_save(m, p, &err), -1);
    assert_contains(err.msg, p);
    assert_contains(err.msg, "No such file");
    assert_false(exists(p));
    assert_false(exists(dir));
    assert_int_equal(count_entries(""), before);
    assert_int_equal(count_entries(".tmp."), 0);
    trm_model_free(m);
}

static void test_save_replaces_existing(void **state) {
    (void)state;
    trm_err err = {{0}};
    trm_config c;
    cfg_att(&c);
    trm_model *a = random_model(&c, 100);
    cfg_mlp(&c);
    trm_model *b = random_model(&c, 200);
    const char *p = tpath("replace.safetensors");
    assert_int_equal(trm_checkpoint_save(a, p, &err), 0);
    long size_a = file_size(p);
    assert_int_equal(trm_checkpoint_save(b, p, &err), 0);
    assert_true(file_size(p) != size_a);
    trm_model *l = load_ok(p);
    assert_true(l->cfg.mlp_t);
    assert_true(cfg_equal(&b->cfg, &l->cfg));
    assert_models_equal(b, l);
    trm_model_free(l);
    assert_int_equal(count_entries("replace.safetensors"), 1);
    assert_int_equal(count_entries(".tmp."), 0);
    trm_model_free(a);
    trm_model_free(b);
}

/* ---------------------------------------------------------------- ownership */

/* Each tensor says who owns its data: a loaded checkpoint's puzzle table
 * lives in the file's copy-on-write pages, a shared one is borrowed, the
 * rest is heap. Freeing each model releases exactly its own (ASan and
 * LeakSanitizer catch a double free, a free of mapped pages or a leak). */
static void test_tensor_storage_frees(void **state) {
    (void)state;
    trm_model *m = small_model();
    trm_err err = {{0}};
    const char *p = tpath("owned.safetensors");
    assert_int_equal(trm_checkpoint_save(m, p, &err), 0);
    trm_model *l = load_ok(p);
    trm_tensor *lt = trm_model_find(l, "puzzle_emb.weights");
    assert_non_null(lt);
    assert_int_equal(lt->storage, TRM_TENSOR_MAPPED);
    assert_ptr_equal(lt->data, l->puzzle_emb);
    assert_int_equal(trm_model_find(l, "lm_head.weight")->storage, TRM_TENSOR_HEAP);
    assert_int_equal(trm_model_find(m, "puzzle_emb.weights")->storage, TRM_TENSOR_HEAP);

    /* copy-on-write: a write to the loaded table leaves the file as saved */
    float saved0 = lt->data[0];
    lt->data[0] = saved0 + 1.0f;
    trm_model *again = load_ok(p);
    assert_true(again->puzzle_emb[0] == saved0);
    trm_model_free(again);

    /* a model borrowing the mapped table: reads and writes l's data */
    trm_model *e = trm_model_alloc(&l->cfg, &err);
    assert_non_null(e);
    assert_int_equal(trm_model_share_tensor(e, l, "puzzle_emb.weights", &err), 0);
    trm_tensor *et = trm_model_find(e, "puzzle_emb.weights");
    assert_int_equal(et->storage, TRM_TENSOR_BORROWED);
    assert_ptr_equal(e->puzzle_emb, lt->data);
    e->puzzle_emb[1] = 7.0f;
    assert_true(lt->data[1] == 7.0f);
    /* only the puzzle table can be shared */
    assert_int_equal(trm_model_share_tensor(e, l, "lm_head.weight", &err), -1);
    assert_contains(err.msg, "cannot share tensor lm_head.weight: only the puzzle table can be shared");
    trm_model_free(e); /* leaves l's table alone */
    assert_true(lt->data[1] == 7.0f);

    /* the mapped model borrowing a heap table: its own pages still go */
    assert_int_equal(trm_model_share_tensor(l, m, "puzzle_emb.weights", &err), 0);
    assert_int_equal(lt->storage, TRM_TENSOR_BORROWED);
    assert_ptr_equal(l->puzzle_emb, m->puzzle_emb);
    trm_model_free(l);
    m->puzzle_emb[0] = 1.0f; /* still m's, alive */
    trm_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_attention_learned),
        cmocka_unit_test(test_round_trip_mlp_t),
        cmocka_unit_test(test_saved_names_and_metadata),
        cmocka_unit_test(test_load_prefixes),
        cmocka_unit_test(test_load_bf16),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_missing_tensor),
        cmocka_unit_test(test_wrong_shape),
        cmocka_unit_test(test_integer_dtype),
        cmocka_unit_test(test_unexpected_tensor),
        cmocka_unit_test(test_duplicate_after_prefix),
        cmocka_unit_test(test_no_config),
        cmocka_unit_test(test_config_not_json),
        cmocka_unit_test(test_config_wrong_type),
        cmocka_unit_test(test_config_invalid),
        cmocka_unit_test(test_config_bigger_than_tensors),
        cmocka_unit_test(test_config_limits),
        cmocka_unit_test(test_nonfinite_weights_reported),
        cmocka_unit_test(test_truncated_file),
        cmocka_unit_test(test_header_past_eof),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_nonexistent_path),
        cmocka_unit_test(test_save_into_missintu_dir),
        cmocka_unit_test(test_save_replaces_existing),
        cmocka_unit_test(test_tensor_storage_frees),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
