/* dataset.c - the reference's on-disk puzzle datasets (spec 4.1): a
 * validating reader that maps the large arrays in place, an atomic
 * writer, and the batch loader of spec 3.5 with exactly resumable state.
 *
 * Validation happens once, at open, so that everything after it (the
 * accessors and the loader) can index without checks: a dataset that
 * opened is structurally sound, and every token fits the vocabulary.
 */
#include "data/dataset.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/rng.h"
#include "io/npy.h"
#include "io/fileio.h" /* io_write_atomic, io_mkdir_p, io_remove_tree */

struct trm_split {
    char dir[PATH_MAX];     /* DIR/<split>, for messages */
    trm_dataset_meta meta;
    npy_view inputs, labels;        /* [n_ex, seq_len], mapped */
    int32_t *puzzle_ids;            /* [n_puz] */
    int32_t *puzzle_indices;        /* [n_puz + 1] */
    int32_t *group_indices;         /* [n_grp + 1] */
    int64_t n_ex, n_puz, n_grp;
};

/* "a/b" into buf; an error when it does not fit. */
static int join_path(char *buf, size_t cap, const char *a, const char *b, trm_err *err) {
    int n = snprintf(buf, cap, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= cap)
        return trm_errf(err, "%s/%s: path too long", a, b);
    return 0;
}

/* ---------------------------------------------------------------- dataset.json */

/* The whole file as a NUL-terminated string (dataset.json is tiny). */
static char *read_text(const char *path, trm_err *err) {
    FILE *fp = util_fopen_regular(path, err);
    if (!fp) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, fp);
        if (n < cap - 1)
            break;
        char *grown = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
        if (!grown)
            free(buf);
        buf = grown, cap *= 2;
    }
    bool failed = ferror(fp);
    fclose(fp);
    if (!buf || failed) {
        trm_errf(err, "%s: cannot read (%s)", path,
                 buf ? "I/O error" : "too large or out of memory");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* An integer field within [lo, hi]. JSON numbers are doubles; integral
 * values are accepted however they are spelled (pydantic does the same
 * for 1.0), booleans and strings are not. */
static int json_int(const cJSON *root, const char *path, const char *key, int64_t lo,
                    int64_t hi, int64_t *out, trm_err *err) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it)
        return trm_errf(err, "%s: field '%s': missing", path, key);
    double d = it->valuedouble;
    if (!cJSON_IsNumber(it) || d != floor(d) || fabs(d) > 9007199254740992.0)
        return trm_errf(err, "%s: field '%s': expected an integer", path, key);
    if (d < (double)lo || d > (double)hi)
        return trm_errf(err, "%s: field '%s': %.0f is outside [%lld, %lld]", path, key, d,
                        (long long)lo, (long long)hi);
    *out = (int64_t)d;
    return 0;
}

static int json_sets(const cJSON *root, const char *path, int *n_sets, trm_err *err) {
    const cJSON *sets = cJSON_GetObjectItemCaseSensitive(root, "sets");
    if (!sets)
        return trm_errf(err, "%s: field 'sets': missing", path);
    if (!cJSON_IsArray(sets))
        return trm_errf(err, "%s: field 'sets': expected a list of strings", path);
    bool has_all = false;
    int n = 0;
    for (const cJSON *e = sets->child; e; e = e->next, n++) {
        if (!cJSON_IsString(e))
            return trm_errf(err, "%s: field 'sets': element %d is not a string", path, n);
        has_all |= strcmp(e->valuestring, "all") == 0;
    }
    if (!has_all)
        return trm_errf(err, "%s: field 'sets': no set \"all\" (the only one supported)", path);
    *n_sets = n;
    return 0;
}

/* The fields whose ranges do not depend on each other. */
static int parse_meta_fields(const cJSON *root, const char *path, trm_dataset_meta *m,
                             trm_err *err) {
    int64_t v[6];
    static const char *const keys[6] = {"seq_len", "vocab_size", "num_puzzle_identifiers",
                                        "total_groups", "total_puzzles", "pad_id"};
    for (int i = 0; i < 6; i++)
        if (json_int(root, path, keys[i], i < 3 ? 1 : 0, INT32_MAX, &v[i], err))
            return -1;
    m->seq_len = (int)v[0], m->vocab_size = (int)v[1], m->num_puzzle_identifiers = (int)v[2];
    m->total_groups = v[3], m->total_puzzles = v[4];
    if (v[5] >= m->vocab_size)
        return trm_errf(err, "%s: field 'pad_id': %lld not < vocab_size %d", path,
                        (long long)v[5], m->vocab_size);
    m->pad_id = (int)v[5];
    if (json_int(root, path, "blank_identifier_id", 0, m->num_puzzle_identifiers - 1, &v[0],
                 err))
        return -1;
    m->blank_identifier_id = (int)v[0];
    return 0;
}

static int parse_meta(const cJSON *root, const char *path, trm_dataset_meta *m, trm_err *err) {
    if (!cJSON_IsObject(root))
        return trm_errf(err, "%s: expected a JSON object", path);
    memset(m, 0, sizeof *m);
    if (parse_meta_fields(root, path, m, err))
        return -1;
    const cJSON *ign = cJSON_GetObjectItemCaseSensitive(root, "ignore_label_id");
    if (!ign)
        return trm_errf(err, "%s: field 'ignore_label_id': missing", path);
    m->has_ignore_label = !cJSON_IsNull(ign);
    int64_t v = 0;
    if (m->has_ignore_label &&
        json_int(root, path, "ignore_label_id", INT32_MIN, INT32_MAX, &v, err))
        return trm_errf(err, "%s: field 'ignore_label_id': expected an integer or null", path);
    m->ignore_label_id = (int)v;
    const cJSON *mean = cJSON_GetObjectItemCaseSensitive(root, "mean_puzzle_examples");
    if (!mean)
        return trm_errf(err, "%s: field 'mean_puzzle_examples': missing", path);
    if (!cJSON_IsNumber(mean) || !(mean->valuedouble >= 0))
        return trm_errf(err, "%s: field 'mean_puzzle_examples': expected a non-negative "
                        "number", path);
    m->mean_puzzle_examples = mean->valuedouble;
    return json_sets(root, path, &m->n_sets, err);
}

static int load_meta(const char *split_dir, trm_dataset_meta *m, trm_err *err) {
    char path[PATH_MAX];
    if (join_path(path, sizeof path, split_dir, "dataset.json", err))
        return -1;
    char *txt = read_text(path, err);
    if (!txt)
        return -1;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(txt, &end, true);
    int rc = root ? parse_meta(root, path, m, err)
                  : trm_errf(err, "%s: not valid JSON (near byte %ld)", path,
                             end ? (long)(end - txt) : 0L);
    cJSON_Delete(root);
    free(txt);
    return rc;
}

/* ---------------------------------------------------------------- index arrays */

/* A 1-D int32 array (any integer dtype on disk) of exactly want elements
 * (want < 0: any length). */
static int32_t *load_index(const char *split_dir, const char *name, int64_t want, int64_t *len,
                           trm_err *err) {
    char path[PATH_MAX];
    if (join_path(path, sizeof path, split_dir, name, err))
        return NULL;
    npy_shape sh;
    int32_t *a = npy_read_i32(path, &sh, err);
    if (!a)
        return NULL;
    if (sh.ndim != 1 || (want >= 0 && sh.numel != want)) {
        trm_errf(err, "%s: shape: expected [%lld], found %d-D with %lld elements", path,
                 (long long)(want >= 0 ? want : sh.numel), sh.ndim, (long long)sh.numel);
        free(a);
        return NULL;
    }
    *len = sh.numel;
    return a;
}

/* Offsets: a[0] = 0, non-decreasing, a[n-1] = end (what = the counted
 * things, for the message). Non-decreasing plus the two ends bounds every
 * value within [0, end]. */
static int check_offsets(const char *split_dir, const char *name, const int32_t *a, int64_t n,
                         int64_t end, const char *what, trm_err *err) {
    if (n < 1)
        return trm_errf(err, "%s/%s: empty (expected at least the leading 0)", split_dir, name);
    if (a[0] != 0)
        return trm_errf(err, "%s/%s: index 0: %d (offsets must start at 0)", split_dir, name,
                        a[0]);
    for (int64_t i = 1; i < n; i++)
        if (a[i] < a[i - 1])
            return trm_errf(err, "%s/%s: index %lld: %d < previous %d (offsets must be "
                            "non-decreasing)", split_dir, name, (long long)i, a[i], a[i - 1]);
    if (a[n - 1] != end)
        return trm_errf(err, "%s/%s: index %lld: last offset %d != number of %s %lld",
                        split_dir, name, (long long)(n - 1), a[n - 1], what, (long long)end);
    return 0;
}

static int load_indices(trm_split *s, trm_err *err) {
    int64_t n;
    s->puzzle_indices = load_index(s->dir, "all__puzzle_indices.npy", -1, &n, err);
    if (!s->puzzle_indices || check_offsets(s->dir, "all__puzzle_indices.npy",
                                            s->puzzle_indices, n, s->n_ex, "examples", err))
        return -1;
    s->n_puz = n - 1;
    s->group_indices = load_index(s->dir, "all__group_indices.npy", -1, &n, err);
    if (!s->group_indices || check_offsets(s->dir, "all__group_indices.npy", s->group_indices,
                                           n, s->n_puz, "puzzles", err))
        return -1;
    s->n_grp = n - 1;
    s->puzzle_ids = load_index(s->dir, "all__puzzle_identifiers.npy", s->n_puz, &n, err);
    if (!s->puzzle_ids)
        return -1;
    int nid = s->meta.num_puzzle_identifiers;
    for (int64_t p = 0; p < s->n_puz; p++)
        if (s->puzzle_ids[p] < 0 || s->puzzle_ids[p] >= nid)
            return trm_errf(err, "%s/all__puzzle_identifiers.npy: puzzle %lld: id %d not in "
                            "[0, num_puzzle_identifiers %d)", s->dir, (long long)p,
                            s->puzzle_ids[p], nid);
    /* total_groups sets the run length (spec 3.5 S_total); every reference
     * builder writes the true count, so a mismatch means a damaged split */
    if (s->meta.total_groups != s->n_grp)
        return trm_errf(err, "%s/dataset.json: field 'total_groups': %lld but "
                        "all__group_indices.npy holds %lld groups", s->dir,
                        (long long)s->meta.total_groups, (long long)s->n_grp);
    return 0;
}

/* ---------------------------------------------------------------- token arrays */

static int map_tokens(const trm_split *s, const char *name, npy_view *v, trm_err *err) {
    char path[PATH_MAX];
    if (join_path(path, sizeof path, s->dir, name, err) || npy_map(path, v, err))
        return -1;
    if (v->ndim != 2 || v->shape[1] != s->meta.seq_len) {
        char dims[NPY_MAX_DIMS * 24] = "";
        for (int i = 0, n = 0; i < v->ndim; i++)
            n += snprintf(dims + n, sizeof dims - (size_t)n, "%s%lld", i ? ", " : "",
                          (long long)v->shape[i]);
        return trm_errf(err, "%s: shape: expected [N, seq_len %d], found [%s]", path,
                        s->meta.seq_len, dims);
    }
    return 0;
}

/* Elements [first, first + n) of v in [0, vocab_size), or equal to the
 * ignore label when allow_ignore; an error names the first one that is not. */
static int scan_range(const trm_split *s, const npy_view *v, const char *name, bool allow_ignore,
                      int64_t first, int64_t n, trm_err *err) {
    enum { CHUNK = 4096 };
    int64_t buf[CHUNK];
    const int64_t vocab = s->meta.vocab_size, ign = s->meta.ignore_label_id;
    for (int64_t end = first + n; first < end; first += CHUNK) {
        int64_t m = end - first < CHUNK ? end - first : CHUNK;
        npy_view_get_i64(v, first, m, buf);
        int64_t bad = -1;
        for (int64_t i = 0; i < m && bad < 0; i++)
            if ((buf[i] < 0 || buf[i] >= vocab) && !(allow_ignore && buf[i] == ign))
                bad = i;
        if (bad >= 0) {
            int64_t at = first + bad;
            return trm_errf(err, "%s/%s: example %lld position %lld: token %lld not in "
                            "[0, vocab_size %lld)", s->dir, name,
                            (long long)(at / s->meta.seq_len), (long long)(at % s->meta.seq_len),
                            (long long)buf[bad], (long long)vocab);
        }
    }
    return 0;
}

/* Every element in [0, vocab_size), or equal to the ignore label when
 * allow_ignore (labels may hold it even if it lies outside the
 * vocabulary: the loader turns it into -100 before anyone embeds it).
 * uint8 arrays (what trm's and the reference's builders write) are
 * checked by the maximum of each 1 MB block, element by element only
 * where it is out of range: opening ARC-1's train split (6.5 GB of
 * tokens, page cache warm) took 15 s element by element, 4.5 s so. */
static int scan_tokens(const trm_split *s, const npy_view *v, const char *name, bool allow_ignore,
                       trm_err *err) {
    if (!(v->kind == 'u' && v->itemsize == 1))
        return scan_range(s, v, name, allow_ignore, 0, v->numel, err);
    enum { BLOCK = 1 << 20 };
    for (int64_t first = 0; first < v->numel; first += BLOCK) {
        int64_t n = v->numel - first < BLOCK ? v->numel - first : BLOCK;
        const uint8_t *b = v->data + first;
        uint8_t mx = 0;
        #pragma omp simd reduction(max : mx)
        for (int64_t i = 0; i < n; i++) mx = b[i] > mx ? b[i] : mx;
        if (mx >= s->meta.vocab_size && scan_range(s, v, name, allow_ignore, first, n, err)) return -1;
    }
    return 0;
}

static int load_tokens(trm_split *s, trm_err *err) {
    if (map_tokens(s, "all__inputs.npy", &s->inputs, err) ||
        map_tokens(s, "all__labels.npy", &s->labels, err))
        return -1;
    if (s->labels.shape[0] != s->inputs.shape[0])
        return trm_errf(err, "%s/all__labels.npy: shape: %lld examples but all__inputs.npy "
                        "has %lld", s->dir, (long long)s->labels.shape[0],
                        (long long)s->inputs.shape[0]);
    s->n_ex = s->inputs.shape[0];
    if (s->n_ex > INT32_MAX)
        return trm_errf(err, "%s/all__inputs.npy: %lld examples exceed the int32 offsets",
                        s->dir, (long long)s->n_ex);
    return 0;
}

/* ---------------------------------------------------------------- reading */

trm_split *trm_split_open(const char *dir, const char *split, trm_err *err) {
    trm_split *s = calloc(1, sizeof *s);
    if (!s) {
        trm_errf(err, "%s/%s: out of memory", dir, split);
        return NULL;
    }
    /* cheap structural checks before the one pass over every token */
    if (join_path(s->dir, sizeof s->dir, dir, split, err) || load_meta(s->dir, &s->meta, err) ||
        load_tokens(s, err) || load_indices(s, err) ||
        scan_tokens(s, &s->inputs, "all__inputs.npy", false, err) ||
        scan_tokens(s, &s->labels, "all__labels.npy", s->meta.has_ignore_label, err)) {
        trm_split_close(s);
        return NULL;
    }
    return s;
}

void trm_split_close(trm_split *s) {
    if (!s)
        return;
    npy_unmap(&s->inputs);
    npy_unmap(&s->labels);
    free(s->puzzle_ids);
    free(s->puzzle_indices);
    free(s->group_indices);
    free(s);
}

const trm_dataset_meta *trm_split_meta(const trm_split *s) { return &s->meta; }
int64_t trm_split_num_examples(const trm_split *s) { return s->n_ex; }
int64_t trm_split_num_puzzles(const trm_split *s) { return s->n_puz; }
int64_t trm_split_num_groups(const trm_split *s) { return s->n_grp; }
int32_t trm_split_puzzle_id(const trm_split *s, int64_t puzzle) { return s->puzzle_ids[puzzle]; }

void trm_split_example(const trm_split *s, int64_t i, int32_t *inputs, int32_t *labels) {
    int L = s->meta.seq_len;
    npy_view_get_i32(&s->inputs, i * L, L, inputs);
    npy_view_get_i32(&s->labels, i * L, L, labels);
    if (s->meta.has_ignore_label)
        for (int k = 0; k < L; k++)
            if (labels[k] == s->meta.ignore_label_id)
                labels[k] = TRM_IGNORE_LABEL;
}

void trm_split_puzzle_range(const trm_split *s, int64_t puzzle, int64_t *first, int64_t *end) {
    *first = s->puzzle_indices[puzzle];
    *end = s->puzzle_indices[puzzle + 1];
}

void trm_split_group_range(const trm_split *s, int64_t group, int64_t *first, int64_t *end) {
    *first = s->group_indices[group];
    *end = s->group_indices[group + 1];
}

/* The puzzle owning example i: the last p with puzzle_indices[p] <= i
 * (the reference's searchsorted(side="right") - 1, which skips empty
 * puzzles the same way). */
static int64_t puzzle_of_example(const trm_split *s, int64_t i) {
    int64_t lo = 0, hi = s->n_puz; /* invariant: pi[lo] <= i < pi[hi] */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (s->puzzle_indices[mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* ---------------------------------------------------------------- writing: collection */

typedef struct {
    uint8_t *p;
    size_t len, cap; /* in bytes */
} bytes;

static int bytes_reserve(bytes *b, size_t extra) {
    if (b->len + extra <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p, b->cap = cap;
    return 0;
}

static int32_t *i32_at(const bytes *b, size_t i) { return (int32_t *)(void *)b->p + i; }

static int push_i32(bytes *b, int32_t v) {
    if (bytes_reserve(b, 4))
        return -1;
    memcpy(b->p + b->len, &v, 4);
    b->len += 4;
    return 0;
}

struct trm_split_writer {
    int seq_len, vocab_size;
    bytes inputs, labels;            /* uint8 [n_ex, seq_len] */
    bytes puzzle_ids;                /* int32 [n_puz] */
    bytes puzzle_indices;            /* int32 [n_puz + 1] */
    bytes group_indices;             /* int32 [n_grp + 1] */
    int64_t n_ex, n_puz, n_grp;
    int32_t max_id;
    bool count_puzzles;              /* dataset.json total_puzzles = n_puz (else n_grp) */
    /* streaming (split_writer_open): inputs/labels go to files in tmp */
    FILE *stream[2];                 /* inputs, labels; NULL when collecting */
    char dir[PATH_MAX], split[64], tmp[PATH_MAX];
    uint8_t *row;                    /* [2 * seq_len] scratch */
};

trm_split_writer *split_writer_new(int seq_len, int vocab_size) {
    if (seq_len < 1 || vocab_size < 1 || vocab_size > 256)
        return NULL; /* tokens are stored as uint8 */
    trm_split_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->seq_len = seq_len, w->vocab_size = vocab_size, w->max_id = -1;
    /* the leading 0 of both offset arrays */
    if (push_i32(&w->puzzle_indices, 0) || push_i32(&w->group_indices, 0)) {
        split_writer_free(w);
        return NULL;
    }
    return w;
}


void split_writer_free(trm_split_writer *w) {
    if (!w)
        return;
    if (w->tmp[0]) { /* a stream not finished: the partial split goes */
        for (int i = 0; i < 2; i++)
            if (w->stream[i])
                fclose(w->stream[i]);
        io_remove_tree(w->tmp);
    }
    free(w->row);
    free(w->inputs.p);
    free(w->labels.p);
    free(w->puzzle_ids.p);
    free(w->puzzle_indices.p);
    free(w->group_indices.p);
    free(w);
}

/* The last offset of each array is the running end of the open group /
 * puzzle, so the arrays are always in their final on-disk form. */
int split_writer_group(trm_split_writer *w, trm_err *err) {
    if (push_i32(&w->group_indices, (int32_t)w->n_puz))
        return trm_errf(err, "dataset writer: out of memory");
    w->n_grp++;
    return 0;
}

int split_writer_puzzle(trm_split_writer *w, int32_t puzzle_id, trm_err *err) {
    if (w->n_grp == 0)
        return trm_errf(err, "dataset writer: puzzle before any group (call "
                        "split_writer_group first)");
    if (puzzle_id < 0)
        return trm_errf(err, "dataset writer: puzzle %lld: negative id %d", (long long)w->n_puz,
                        puzzle_id);
    if (w->n_puz >= INT32_MAX)
        return trm_errf(err, "dataset writer: more than %d puzzles", INT32_MAX);
    if (bytes_reserve(&w->puzzle_ids, 4) || push_i32(&w->puzzle_indices, (int32_t)w->n_ex))
        return trm_errf(err, "dataset writer: out of memory");
    push_i32(&w->puzzle_ids, puzzle_id); /* reserved above: cannot fail */
    w->n_puz++;
    *i32_at(&w->group_indices, (size_t)w->n_grp) = (int32_t)w->n_puz;
    if (puzzle_id > w->max_id)
        w->max_id = puzzle_id;
    return 0;
}

static int check_row(const trm_split_writer *w, const int32_t *row, const char *what,
                     trm_err *err) {
    for (int k = 0; k < w->seq_len; k++)
        if (row[k] < 0 || row[k] >= w->vocab_size)
            return trm_errf(err, "dataset writer: example %lld position %d: %s token %d not in "
                            "[0, vocab_size %d)", (long long)w->n_ex, k, what, row[k],
                            w->vocab_size);
    return 0;
}

/* One row into each stream file. */
static int stream_example(trm_split_writer *w, const int32_t *inputs, const int32_t *labels,
                          trm_err *err) {
    size_t L = (size_t)w->seq_len;
    for (size_t k = 0; k < L; k++)
        w->row[k] = (uint8_t)inputs[k], w->row[L + k] = (uint8_t)labels[k];
    for (int i = 0; i < 2; i++)
        if (fwrite(w->row + i * L, 1, L, w->stream[i]) != L)
            return trm_errf(err, "dataset writer: %s: write failed: %s", w->tmp, strerror(errno));
    w->n_ex++;
    *i32_at(&w->puzzle_indices, (size_t)w->n_puz) = (int32_t)w->n_ex;
    return 0;
}

int split_writer_example(trm_split_writer *w, const int32_t *inputs, const int32_t *labels,
                             trm_err *err) {
    if (w->n_puz == 0)
        return trm_errf(err, "dataset writer: example before any puzzle (call "
                        "split_writer_puzzle first)");
    if (check_row(w, inputs, "input", err) || check_row(w, labels, "label", err))
        return -1;
    if (w->n_ex >= INT32_MAX)
        return trm_errf(err, "dataset writer: more than %d examples", INT32_MAX);
    if (w->stream[0])
        return stream_example(w, inputs, labels, err);
    size_t L = (size_t)w->seq_len;
    if (bytes_reserve(&w->inputs, L) || bytes_reserve(&w->labels, L))
        return trm_errf(err, "dataset writer: out of memory");
    for (size_t k = 0; k < L; k++) {
        w->inputs.p[w->inputs.len++] = (uint8_t)inputs[k];
        w->labels.p[w->labels.len++] = (uint8_t)labels[k];
    }
    w->n_ex++;
    *i32_at(&w->puzzle_indices, (size_t)w->n_puz) = (int32_t)w->n_ex;
    return 0;
}

/* ---------------------------------------------------------------- writing: files */

/* Python's repr of a float for the values we write: the shortest %g
 * that reads back exactly, with ".0" on integral values so that the
 * field stays a float as in the reference's json.dump. */
static void format_float(char *buf, size_t cap, double x) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    if (!strpbrk(buf, ".eEn"))
        strncat(buf, ".0", cap - strlen(buf) - 1);
}

/* dataset.json as the reference writes it (json.dump of the pydantic
 * model: same keys, same order, same separators). */
static int write_meta(const trm_split_writer *w, const char *path, int num_ids, trm_err *err) {
    char mean[40], txt[1024];
    format_float(mean, sizeof mean, w->n_puz ? (double)w->n_ex / (double)w->n_puz : 0.0);
    /* total_puzzles holds the number of groups: the reference's Sudoku
     * and Maze builders store that (spec 4.1, 8 #18), and datasets from
     * either writer should read the same */
    int n = snprintf(txt, sizeof txt,
                     "{\"pad_id\": 0, \"ignore_label_id\": 0, \"blank_identifier_id\": 0, "
                     "\"vocab_size\": %d, \"seq_len\": %d, \"num_puzzle_identifiers\": %d, "
                     "\"total_groups\": %lld, \"mean_puzzle_examples\": %s, "
                     "\"total_puzzles\": %lld, \"sets\": [\"all\"]}",
                     w->vocab_size, w->seq_len, num_ids, (long long)w->n_grp, mean,
                     (long long)(w->count_puzzles ? w->n_puz : w->n_grp));
    const void *bufs[1] = {txt};
    size_t lens[1] = {(size_t)n};
    return io_write_atomic(path, bufs, lens, 1, err);
}

/* The five arrays and dataset.json into dir (the temporary split). */
static int write_split_files(const trm_split_writer *w, const char *dir, int num_ids,
                             trm_err *err) {
    const int64_t rows[2] = {w->n_ex, w->seq_len};
    const int64_t n_puz = w->n_puz, n_puz1 = w->n_puz + 1, n_grp1 = w->n_grp + 1;
    static const char *const names[6] = {"all__inputs.npy", "all__labels.npy",
                                         "all__puzzle_identifiers.npy", "all__puzzle_indices.npy",
                                         "all__group_indices.npy", "dataset.json"};
    const void *data[5] = {w->inputs.p, w->labels.p, w->puzzle_ids.p, w->puzzle_indices.p,
                           w->group_indices.p};
    const int64_t *shapes[5] = {rows, rows, &n_puz, &n_puz1, &n_grp1};
    char path[PATH_MAX];
    for (int i = 0; i < 6; i++) {
        if (join_path(path, sizeof path, dir, names[i], err))
            return -1;
        int rc = i == 5 ? write_meta(w, path, num_ids, err)
                        : npy_write(path, i < 2 ? "|u1" : "<i4", i < 2 ? 2 : 1, shapes[i],
                                    data[i], err);
        if (rc)
            return -1;
    }
    return 0;
}

/* DIR/SPLIT.<what>.<pid>: where a split is written ("tmp") or the
 * split it replaces waits ("old"). */
static int side_path(char *out, size_t cap, const char *dir, const char *split, const char *what, trm_err *err) {
    char name[64];
    snprintf(name, sizeof name, "%s.%s.%ld", split, what, (long)getpid());
    return join_path(out, cap, dir, name, err);
}

/* A fresh, empty DIR/SPLIT.tmp.<pid> in tmp (the litter of an earlier
 * crashed run with our pid removed); tmp is "" on failure. */
static int make_tmp_dir(char *tmp, size_t cap, const char *dir, const char *split, trm_err *err) {
    if (side_path(tmp, cap, dir, split, "tmp", err)) {
        tmp[0] = 0;
        return -1;
    }
    io_remove_tree(tmp);
    if (mkdir(tmp, 0777) == 0) return 0;
    trm_errf(err, "%s: cannot create directory: %s", tmp, strerror(errno));
    tmp[0] = 0;
    return -1;
}

static void sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd); /* best effort: makes the renames durable */
        close(fd);
    }
}

/* Moves tmp over final. An existing final is renamed aside first and
 * deleted only once the new split is in place, so that a failure at any
 * point leaves either the old or the new split, never neither. */
static int swap_in(const char *tmp, const char *final, const char *old, trm_err *err) {
    struct stat st;
    bool had_old = lstat(final, &st) == 0;
    if (had_old && (io_remove_tree(old) || rename(final, old) != 0))
        return trm_errf(err, "%s: cannot move the old split aside: %s", final, strerror(errno));
    if (rename(tmp, final) != 0) {
        int e = errno;
        if (had_old)
            rename(old, final);
        return trm_errf(err, "%s: cannot rename %s into place: %s", final, tmp, strerror(e));
    }
    if (had_old)
        io_remove_tree(old); /* the new split is complete; a leftover is only litter */
    return 0;
}

/* ---------------------------------------------------------------- writing: streaming */

/* np.save's version 1.0 header as numpy >= 1.23 writes it: the dict,
 * spaces for the first axis to grow to 21 digits, then spaces and '\n' up
 * to a multiple of 64 bytes with the 10-byte preamble (a whole 64 more
 * when already aligned, as numpy pads). The length does not depend on
 * shape[0], which is what lets a stream patch its row count in place. */
static size_t numpy_header(uint8_t *buf, size_t cap, const char *descr, int ndim,
                           const int64_t *shape) {
    char dims[64], first[24], txt[256];
    snprintf(first, sizeof first, "%lld", (long long)shape[0]);
    if (ndim == 1)
        snprintf(dims, sizeof dims, "(%s,)", first);
    else
        snprintf(dims, sizeof dims, "(%s, %lld)", first, (long long)shape[1]);
    int len = snprintf(txt, sizeof txt, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }"
                       "%*s", descr, dims, 21 - (int)strlen(first), "");
    size_t hlen = (size_t)len + 1, pad = 64 - (10 + hlen) % 64, total = 10 + hlen + pad;
    if (total > cap)
        return 0;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)((hlen + pad) & 0xff), buf[9] = (uint8_t)((hlen + pad) >> 8);
    memcpy(buf + 10, txt, (size_t)len);
    memset(buf + 10 + len, ' ', pad);
    buf[total - 1] = '\n';
    return total;
}

static const char *const g_stream_names[2] = {"all__inputs.npy", "all__labels.npy"};

/* The header of stream i for the rows written so far. */
static size_t stream_header(const trm_split_writer *w, uint8_t *buf, size_t cap) {
    const int64_t shape[2] = {w->n_ex, w->seq_len};
    return numpy_header(buf, cap, "|u1", 2, shape);
}

trm_split_writer *split_writer_open(const char *dir, const char *split, int seq_len,
                                        int vocab_size, trm_err *err) {
    if (!split[0] || strlen(split) >= 32 || strchr(split, '/') || !strcmp(split, ".") ||
        !strcmp(split, "..")) {
        trm_errf(err, "%s: bad split name '%s'", dir, split);
        return NULL;
    }
    trm_split_writer *w = split_writer_new(seq_len, vocab_size);
    if (!w || !(w->row = malloc(2 * (size_t)seq_len))) {
        trm_errf(err, "%s/%s: dataset writer: out of memory", dir, split);
        split_writer_free(w);
        return NULL;
    }
    char path[PATH_MAX];
    snprintf(w->split, sizeof w->split, "%s", split);
    if (snprintf(w->dir, sizeof w->dir, "%s", dir) >= (int)sizeof w->dir || io_mkdir_p(dir, NULL, err) ||
        make_tmp_dir(w->tmp, sizeof w->tmp, dir, split, err)) {
        split_writer_free(w);
        return NULL;
    }
    uint8_t head[256];
    size_t hn = stream_header(w, head, sizeof head);
    for (int i = 0; i < 2; i++) {
        w->stream[i] = join_path(path, sizeof path, w->tmp, g_stream_names[i], err) ? NULL
                                                                                   : fopen(path, "wb");
        if (!w->stream[i] || fwrite(head, 1, hn, w->stream[i]) != hn) {
            trm_errf(err, "%s: cannot write: %s", path, strerror(errno));
            split_writer_free(w); /* removes tmp */
            return NULL;
        }
        setvbuf(w->stream[i], NULL, _IOFBF, 1 << 20);
    }
    return w;
}

void split_writer_count_puzzles(trm_split_writer *w, bool puzzles) { w->count_puzzles = puzzles; }

/* Final header in place, flushed to disk, closed. */
static int close_stream(trm_split_writer *w, int i, trm_err *err) {
    uint8_t head[256];
    size_t hn = stream_header(w, head, sizeof head);
    FILE *f = w->stream[i];
    bool ok = fflush(f) == 0 && fseek(f, 0, SEEK_SET) == 0 && fwrite(head, 1, hn, f) == hn &&
              fflush(f) == 0 && fsync(fileno(f)) == 0;
    int e = errno;
    ok = fclose(f) == 0 && ok;
    w->stream[i] = NULL;
    if (!ok)
        return trm_errf(err, "%s/%s: write failed: %s", w->tmp, g_stream_names[i], strerror(e));
    return 0;
}

/* The three index arrays and dataset.json next to the streams. */
static int stream_write_rest(trm_split_writer *w, int num_ids, trm_err *err) {
    static const char *const names[3] = {"all__puzzle_identifiers.npy", "all__puzzle_indices.npy",
                                         "all__group_indices.npy"};
    const bytes *data[3] = {&w->puzzle_ids, &w->puzzle_indices, &w->group_indices};
    const int64_t n[3] = {w->n_puz, w->n_puz + 1, w->n_grp + 1};
    char path[PATH_MAX];
    for (int i = 0; i < 3; i++) {
        uint8_t head[256];
        size_t hn = numpy_header(head, sizeof head, "<i4", 1, &n[i]);
        const void *bufs[2] = {head, data[i]->p};
        size_t lens[2] = {hn, (size_t)n[i] * 4};
        if (join_path(path, sizeof path, w->tmp, names[i], err) ||
            io_write_atomic(path, bufs, lens, 2, err))
            return -1;
    }
    if (join_path(path, sizeof path, w->tmp, "dataset.json", err))
        return -1;
    return write_meta(w, path, num_ids, err);
}

static int stream_finish(trm_split_writer *w, const char *dir, const char *split, int num_ids,
                         trm_err *err) {
    if (strcmp(dir, w->dir) || strcmp(split, w->split))
        return trm_errf(err, "dataset writer: opened for %s/%s, finished as %s/%s", w->dir,
                        w->split, dir, split);
    char final[PATH_MAX], old[PATH_MAX];
    if (join_path(final, sizeof final, dir, split, err) || side_path(old, sizeof old, dir, split, "old", err))
        return -1;
    int rc = close_stream(w, 0, err);
    rc = close_stream(w, 1, rc ? NULL : err) || rc;
    if (rc || stream_write_rest(w, num_ids, err) || swap_in(w->tmp, final, old, err)) {
        io_remove_tree(w->tmp);
        return -1;
    }
    w->tmp[0] = 0; /* finished: nothing for free to remove */
    sync_dir(dir);
    return 0;
}

int split_writer_finish(trm_split_writer *w, const char *dir, const char *split,
                            int num_puzzle_identifiers, trm_err *err) {
    if (!split[0] || strchr(split, '/') || !strcmp(split, ".") || !strcmp(split, ".."))
        return trm_errf(err, "%s: bad split name '%s'", dir, split);
    if (num_puzzle_identifiers < 1 || num_puzzle_identifiers <= w->max_id)
        return trm_errf(err, "%s/%s: num_puzzle_identifiers %d must be at least 1 and > the "
                        "largest puzzle id %d", dir, split, num_puzzle_identifiers, w->max_id);
    if (w->stream[0])
        return stream_finish(w, dir, split, num_puzzle_identifiers, err);
    char final[PATH_MAX], tmp[PATH_MAX], old[PATH_MAX];
    if (io_mkdir_p(dir, NULL, err) || join_path(final, sizeof final, dir, split, err) ||
        side_path(old, sizeof old, dir, split, "old", err) || make_tmp_dir(tmp, sizeof tmp, dir, split, err))
        return -1;
    if (write_split_files(w, tmp, num_puzzle_identifiers, err) ||
        swap_in(tmp, final, old, err)) {
        io_remove_tree(tmp);
        return -1;
    }
    sync_dir(dir);
    return 0;
}

int dataset_write_identifiers(const char *dir, const char *const *names, int n, trm_err *err) {
    char path[PATH_MAX];
    if (io_mkdir_p(dir, NULL, err) || join_path(path, sizeof path, dir, "identifiers.json", err))
        return -1;
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) {
        cJSON *s = names[i] ? cJSON_CreateString(names[i]) : NULL;
        if (!s || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            cJSON_Delete(arr);
            return trm_errf(err, "%s: identifier %d: %s", path, i,
                            names[i] ? "out of memory" : "NULL name");
        }
    }
    char *txt = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    if (!txt)
        return trm_errf(err, "%s: out of memory", path);
    const void *bufs[1] = {txt};
    size_t lens[1] = {strlen(txt)};
    int rc = io_write_atomic(path, bufs, lens, 1, err);
    free(txt);
    return rc;
}

/* ---------------------------------------------------------------- batching */

/* Consecutive train epochs that may fail to fill one batch before next()
 * gives up (returns 0). Only reachable when most puzzle choices leave an
 * epoch short of a batch; loader_new rejects the hopeless case outright. */
#define MAX_EMPTY_EPOCHS 1000

struct trm_loader {
    const trm_split *s;
    int batch;
    bool train;
    uint64_t seed;
    int64_t epoch, cursor;
    uint64_t rng[4];       /* puzzle choice and example order (train) */
    int64_t *perm;         /* [n_grp] group order of perm_epoch */
    int64_t perm_epoch;    /* -1: perm not computed */
    int64_t *pick;         /* [largest puzzle] scratch for the example shuffle */
    int64_t epochs_per_iteration; /* drop the partial batch at these boundaries (0: never) */
};

/* Uniform in [0, n), unbiased (rejection), n >= 1. */
static uint64_t rng_below(uint64_t s[4], uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    do
        x = rng_next(s);
    while (x >= limit);
    return x % n;
}

/* Epoch e's group order depends only on (seed, e), so a resumed loader
 * can rebuild it from the saved epoch number alone. */
static void ensure_perm(trm_loader *l) {
    if (l->perm_epoch == l->epoch)
        return;
    uint64_t r[4];
    rng_seed(r, l->seed * 0x9E3779B97F4A7C15ull + (uint64_t)l->epoch);
    int64_t n = l->s->n_grp;
    for (int64_t i = 0; i < n; i++)
        l->perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)rng_below(r, (uint64_t)i + 1), t = l->perm[i];
        l->perm[i] = l->perm[j], l->perm[j] = t;
    }
    l->perm_epoch = l->epoch;
}

/* For train mode: the largest puzzle (scratch size) and the most examples
 * one epoch can yield (each group at its largest puzzle). */
static void train_bounds(const trm_split *s, int64_t *largest, int64_t *epoch_max) {
    *largest = 1, *epoch_max = 0;
    for (int64_t g = 0; g < s->n_grp; g++) {
        int64_t best = 0;
        for (int64_t p = s->group_indices[g]; p < s->group_indices[g + 1]; p++) {
            int64_t size = s->puzzle_indices[p + 1] - s->puzzle_indices[p];
            best = size > best ? size : best;
        }
        *largest = best > *largest ? best : *largest;
        *epoch_max += best;
    }
}

trm_loader *loader_new(const trm_split *s, int batch, bool train, uint64_t seed, trm_err *err) {
    if (batch < 1) {
        trm_errf(err, "%s: batch size %d must be positive", s->dir, batch);
        return NULL;
    }
    int64_t largest = 1, epoch_max = 0;
    if (train) {
        train_bounds(s, &largest, &epoch_max);
        if (epoch_max < batch) {
            trm_errf(err, "%s: batch size %d exceeds the at most %lld examples one training "
                     "epoch yields (incomplete batches are dropped)", s->dir, batch,
                     (long long)epoch_max);
            return NULL;
        }
    }
    trm_loader *l = calloc(1, sizeof *l);
    if (l) {
        l->perm = malloc((size_t)(train ? s->n_grp : 0) * sizeof *l->perm + 1);
        l->pick = malloc((size_t)largest * sizeof *l->pick);
    }
    if (!l || !l->perm || !l->pick) {
        loader_free(l);
        trm_errf(err, "%s: out of memory for the loader", s->dir);
        return NULL;
    }
    l->s = s, l->batch = batch, l->train = train, l->seed = seed;
    loader_rewind(l);
    return l;
}

void loader_free(trm_loader *l) {
    if (!l)
        return;
    free(l->perm);
    free(l->pick);
    free(l);
}

/* Back to the state of a new loader. */
void loader_rewind(trm_loader *l) {
    l->epoch = 0, l->cursor = 0, l->perm_epoch = -1;
    /* a stream apart from the per-epoch permutation streams */
    rng_seed(l->rng, l->seed ^ 0xD1B54A32D192ED03ull);
}

/* One row of the batch: example ex with puzzle identifier id. */
static void put_row(const trm_loader *l, int row, int64_t ex, int32_t id, int32_t *inputs,
                    int32_t *labels, int32_t *ids) {
    size_t L = (size_t)l->s->meta.seq_len;
    trm_split_example(l->s, ex, inputs + row * L, labels + row * L);
    ids[row] = id;
}

/* Appends up to room examples of one puzzle, chosen without replacement
 * in random order (the reference's np.random.choice(size, take,
 * replace=False)) by a partial Fisher-Yates shuffle. Returns the count. */
static int add_puzzle(trm_loader *l, int64_t p, int fill, int32_t *inputs, int32_t *labels,
                      int32_t *ids) {
    const trm_split *s = l->s;
    int64_t first = s->puzzle_indices[p], size = s->puzzle_indices[p + 1] - first;
    int take = (int)(size < l->batch - fill ? size : l->batch - fill);
    for (int64_t k = 0; k < size; k++)
        l->pick[k] = k;
    for (int k = 0; k < take; k++) {
        int64_t j = k + (int64_t)rng_below(l->rng, (uint64_t)(size - k)), t = l->pick[k];
        l->pick[k] = l->pick[j], l->pick[j] = t;
        put_row(l, fill + k, first + l->pick[k], s->puzzle_ids[p], inputs, labels, ids);
    }
    return take;
}

/* Walks the epoch's group order from the cursor until the batch is full
 * or the epoch ends; returns the rows filled (starting at row `fill`). */
static int fill_train(trm_loader *l, int fill, int32_t *inputs, int32_t *labels, int32_t *ids) {
    const trm_split *s = l->s;
    ensure_perm(l);
    while (l->cursor < s->n_grp && fill < l->batch) {
        int64_t g = l->perm[l->cursor++];
        int64_t p0 = s->group_indices[g], n = s->group_indices[g + 1] - p0;
        if (n == 0)
            continue; /* an empty group has nothing to offer */
        int64_t p = p0 + (int64_t)rng_below(l->rng, (uint64_t)n);
        fill += add_puzzle(l, p, fill, inputs, labels, ids);
    }
    return fill;
}

/* Batches run on across epoch boundaries, like the reference's stream of
 * concatenated epoch permutations; at the end of an "iteration" (the
 * reference's eval_interval epochs) the partial batch is dropped, as the
 * reference's loader does when one iteration's stream runs out. */
static int next_train(trm_loader *l, int32_t *inputs, int32_t *labels, int32_t *ids) {
    int fill = 0;
    for (int empty = 0; empty < MAX_EMPTY_EPOCHS;) {
        int before = fill;
        fill = fill_train(l, fill, inputs, labels, ids);
        if (fill == l->batch)
            return l->batch;
        l->epoch++, l->cursor = 0; /* the epoch ran out: continue with the next */
        empty = fill == before ? empty + 1 : 0;
        if (l->epochs_per_iteration > 0 && l->epoch % l->epochs_per_iteration == 0)
            fill = 0; /* drop last */
    }
    return 0;
}

void loader_set_iteration(trm_loader *l, int64_t epochs) {
    l->epochs_per_iteration = epochs > 0 ? epochs : 0;
}

static int next_test(trm_loader *l, int32_t *inputs, int32_t *labels, int32_t *ids) {
    const trm_split *s = l->s;
    if (l->cursor >= s->n_ex)
        return 0;
    int n = (int)(s->n_ex - l->cursor < l->batch ? s->n_ex - l->cursor : l->batch);
    for (int r = 0; r < n; r++) {
        int64_t ex = l->cursor + r;
        put_row(l, r, ex, s->puzzle_ids[puzzle_of_example(s, ex)], inputs, labels, ids);
    }
    size_t L = (size_t)s->meta.seq_len;
    for (size_t k = (size_t)n * L; k < (size_t)l->batch * L; k++)
        inputs[k] = s->meta.pad_id, labels[k] = TRM_IGNORE_LABEL;
    for (int r = n; r < l->batch; r++)
        ids[r] = s->meta.blank_identifier_id;
    l->cursor += n;
    return n;
}

int loader_next(trm_loader *l, int32_t *inputs, int32_t *labels, int32_t *puzzle_ids) {
    return l->train ? next_train(l, inputs, labels, puzzle_ids)
                    : next_test(l, inputs, labels, puzzle_ids);
}

int64_t dataset_batch_reveal(int32_t *inputs, const int32_t *labels, int rows, int seq_len, double max_frac,
                         uint64_t rng[4]) {
    int64_t revealed = 0;
    for (int b = 0; b < rows; b++) {
        float u = (float)max_frac * rng_uniform(rng);
        int32_t *in = inputs + (int64_t)b * seq_len;
        const int32_t *lab = labels + (int64_t)b * seq_len;
        for (int i = 0; i < seq_len; i++)
            if (lab[i] >= 0 && in[i] != lab[i] && rng_uniform(rng) < u) {
                in[i] = lab[i];
                revealed++;
            }
    }
    return revealed;
}

double loader_epoch_progress(const trm_loader *l) {
    int64_t n = l->train ? l->s->n_grp : l->s->n_ex;
    return n ? (double)l->cursor / (double)n : 1.0;
}

void loader_get_state(const trm_loader *l, trm_loader_state *st) {
    st->epoch = l->epoch;
    st->cursor = l->cursor;
    memcpy(st->rng, l->rng, sizeof st->rng);
}

int loader_set_state(trm_loader *l, const trm_loader_state *st, trm_err *err) {
    int64_t n = l->train ? l->s->n_grp : l->s->n_ex;
    if (st->epoch < 0 || st->cursor < 0 || st->cursor > n)
        return trm_errf(err, "%s: loader state: epoch %lld / cursor %lld out of range (cursor "
                        "must be within [0, %lld])", l->s->dir, (long long)st->epoch,
                        (long long)st->cursor, (long long)n);
    if (l->train && !(st->rng[0] | st->rng[1] | st->rng[2] | st->rng[3]))
        return trm_errf(err, "%s: loader state: all-zero RNG state (xoshiro would only "
                        "yield zeros)", l->s->dir);
    l->epoch = st->epoch;
    l->cursor = st->cursor;
    memcpy(l->rng, st->rng, sizeof l->rng);
    return 0;
}
