/* test_fileio.c - what trm's readers and writers do with files that are not
 * what they seem (io/fileio.h): a symbolic link planted under a temporary
 * name or a log's name is never written through, and a FIFO in place of a
 * data or checkpoint file is refused at once instead of blocking open().
 * Every test runs under an alarm, so a regression fails instead of hanging. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"
#include "eval/arc_eval.h"
#include "io/fileio.h"
#include "io/jsonout.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "render/internal.h"
#include "render/render.h"
#include "tasks/task.h"
#include "testutil.h"

#define VICTIM_TEXT "precious contents\n"

TU_TMP_DIR_GROUP(group_setup, group_teardown, "/tmp/trm_fileio_XXXXXX")

/* A hang is a failure: SIGALRM ends the test binary with an error. */
static int arm(void **state) {
    (void)state;
    alarm(10);
    return 0;
}

static void write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs(s, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path) {
    static char buf[4096];
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

/* A victim file outside the output's name and a link to it planted where
 * the writer of `out` puts its temporary file. */
static void plant_tmp_link(const char *out, const char *victim) {
    write_text(victim, VICTIM_TEXT);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    unlink(tmp);
    assert_int_equal(symlink(victim, tmp), 0);
}

static void assert_victim_intact(const char *victim) {
    const char *s = read_text(victim);
    assert_non_null(s);
    assert_string_equal(s, VICTIM_TEXT);
}

static bool tmp_left(const char *out) {
    char tmp[4200];
    struct stat st;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    return lstat(tmp, &st) == 0;
}

/* ---------------------------------------------------------------- writers */

static void test_write_atomic_ignores_planted_link(void **state) {
    (void)state;
    const char *out = tpath("a.bin"), *victim = tpath("victim_a");
    plant_tmp_link(out, victim);
    const void *bufs[1] = {"new\n"};
    size_t lens[1] = {4};
    trm_err e = {{0}};
    assert_int_equal(io_write_atomic(out, bufs, lens, 1, &e), 0);
    assert_victim_intact(victim);
    assert_string_equal(read_text(out), "new\n");
    assert_false(tmp_left(out));
}

static void test_npy_and_safetensors_ignore_planted_link(void **state) {
    (void)state;
    trm_err e = {{0}};
    const char *npy = tpath("x.npy"), *victim = tpath("victim_npy");
    plant_tmp_link(npy, victim);
    int64_t shape[1] = {3};
    float v[3] = {1, 2, 3};
    assert_int_equal(npy_write(npy, "<f4", 1, shape, v, &e), 0);
    assert_victim_intact(victim);

    const char *st = tpath("x.safetensors"), *victim2 = tpath("victim_st");
    plant_tmp_link(st, victim2);
    st_writer *w = st_writer_new();
    assert_int_equal(st_writer_add(w, "t", ST_F32, 1, shape, v, &e), 0);
    assert_int_equal(st_writer_write(w, st, &e), 0);
    st_writer_free(w);
    assert_victim_intact(victim2);
    st_file *f = st_open(st, &e);
    assert_non_null(f);
    st_close(f);
}

static void test_png_ignores_planted_link(void **state) {
    (void)state;
    const char *out = tpath("b.png"), *victim = tpath("victim_png");
    plant_tmp_link(out, victim);
    const trm_task *t = trm_task_by_name("sudoku4");
    assert_non_null(t);
    int32_t q[16] = {0};
    trm_board_view b[1] = {{q, "q"}};
    trm_err e = {{0}};
    assert_int_equal(render_board_png(out, t, 16, NULL, NULL, b, 1, &e), 0);
    assert_victim_intact(victim);
    assert_false(tmp_left(out));
}

/* A failed write removes its temporary file and leaves the target alone. */
static void test_commit_discard_removes_tmp(void **state) {
    (void)state;
    const char *out = tpath("c.txt");
    write_text(out, "old\n");
    char tmp[IO_TMP_PATH];
    trm_err e = {{0}};
    FILE *f = io_tmp_fopen(out, tmp, sizeof tmp, &e);
    assert_non_null(f);
    fputs("half", f);
    assert_int_equal(io_tmp_commit(f, tmp, out, false, &e), -1);
    assert_false(tmp_left(out));
    assert_string_equal(read_text(out), "old\n");
}

static void test_log_refuses_link(void **state) {
    (void)state;
    const char *log = tpath("metrics.jsonl"), *victim = tpath("victim_log");
    write_text(victim, VICTIM_TEXT);
    assert_int_equal(symlink(victim, log), 0);
    trm_err e = {{0}};
    assert_null(io_fopen_log(log, true, &e));
    assert_contains(e.msg, log);
    assert_contains(e.msg, "symbolic link");
    assert_null(io_fopen_log(log, false, &e));
    assert_victim_intact(victim);
    /* a plain file is truncated or appended to as asked */
    unlink(log);
    write_text(log, "line 1\n");
    FILE *f = io_fopen_log(log, false, &e);
    assert_non_null(f);
    fputs("line 2\n", f);
    fclose(f);
    assert_string_equal(read_text(log), "line 1\nline 2\n");
    f = io_fopen_log(log, true, &e);
    assert_non_null(f);
    fclose(f);
    assert_string_equal(read_text(log), "");
}

/* ---------------------------------------------------------------- readers */

static const char *fifo(const char *name) {
    const char *p = tpath(name);
    unlink(p);
    assert_int_equal(mkfifo(p, 0600), 0);
    return p;
}

static void assert_fifo_refused(const char *msg, const char *path) {
    assert_contains(msg, path);
    assert_contains(msg, "not a regular file (a FIFO)");
}

static void test_fifo_checkpoint_and_arrays(void **state) {
    (void)state;
    trm_err e = {{0}};
    const char *p = fifo("ck.safetensors");
    assert_null(trm_checkpoint_load(p, &e));
    assert_fifo_refused(e.msg, p);
    npy_shape s;
    p = fifo("arr.npy");
    assert_null(npy_read_f32(p, &s, &e));
    assert_fifo_refused(e.msg, p);
    npy_view v = {0};
    assert_int_equal(npy_map(p, &v, &e), -1);
    assert_fifo_refused(e.msg, p);
    assert_null(util_fopen_regular(tu_dir, &e));
    assert_contains(e.msg, "is a directory (expected a regular file)");
}

/* A small valid dataset in DIR (split "test"), for replacing one file. */
static void write_dataset(const char *dir) {
    trm_err e = {{0}};
    trm_split_writer *w = split_writer_new(4, 3);
    int32_t in[4] = {1, 2, 1, 2}, lab[4] = {2, 1, 2, 1};
    assert_int_equal(split_writer_group(w, &e), 0);
    assert_int_equal(split_writer_puzzle(w, 0, &e), 0);
    assert_int_equal(split_writer_example(w, in, lab, &e), 0);
    assert_int_equal(split_writer_finish(w, dir, "test", 1, &e), 0);
    split_writer_free(w);
}

static void test_fifo_dataset_files(void **state) {
    (void)state;
    static const char *const names[2] = {"dataset.json", "all__inputs.npy"};
    for (int i = 0; i < 2; i++) {
        const char *dir = tpath(i ? "ds2" : "ds1");
        write_dataset(dir);
        trm_err e = {{0}};
        char name[64];
        snprintf(name, sizeof name, "%s/test/%s", i ? "ds2" : "ds1", names[i]);
        const char *p = fifo(name);
        assert_null(trm_split_open(dir, "test", &e));
        assert_fifo_refused(e.msg, p);
    }
}

static void test_fifo_arc_and_metrics(void **state) {
    (void)state;
    trm_err e = {{0}};
    const char *dir = tpath("arc");
    assert_int_equal(mkdir(dir, 0777), 0);
    const char *p = fifo("arc/identifiers.json");
    assert_null(arc_eval_open(dir, &e));
    assert_fifo_refused(e.msg, p);
    metrics_log log;
    p = fifo("m.jsonl");
    assert_int_equal(metrics_read(p, &log, &e), -1);
    assert_fifo_refused(e.msg, p);
    metrics_free(&log);
}

/* ---------------------------------------------------------------- JSON output */

static void test_json_number_and_string(void **state) {
    (void)state;
    assert_string_equal(JSON_NUM(0.25), "0.25");
    assert_string_equal(JSON_NUM(NAN), "null");
    assert_string_equal(JSON_NUM(-INFINITY), "null");
    assert_string_equal(json_number(1.0 / 3.0, 3).s, "0.333");
    char buf[64] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    assert_non_null(f);
    json_put_string(f, "a\"b\\c\n\x01");
    fclose(f);
    assert_string_equal(buf, "\"a\\\"b\\\\c\\u000a\\u0001\"");
    static const char nul[] = "{\"x\\u0000y\": 1}", esc[] = "{\"x\\\\u0000y\": 1}";
    assert_int_equal(json_nul_escape_at(nul, strlen(nul)), 3);
    assert_int_equal(json_nul_escape_at(esc, strlen(esc)), strlen(esc));
    assert_int_equal(json_nul_escape_at("[\"a\0b\"]", 7), 3);
}

/* ---------------------------------------------------------------- folders */

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* mkdir -p: nested parents, an existing folder, a trailing slash; *created
 * only for a folder this call made; a file on the way is named. */
static void test_mkdir_p(void **state) {
    (void)state;
    trm_err e;
    bool created = false;
    char deep[512];
    snprintf(deep, sizeof deep, "%s/mk/a/b/c", tu_dir);
    assert_int_equal(io_mkdir_p(deep, &created, &e), 0);
    assert_true(created && is_dir(deep));
    assert_int_equal(io_mkdir_p(deep, &created, &e), 0); /* exists: fine, not made by us */
    assert_false(created);
    assert_int_equal(io_mkdir_p(tpath("mk/a/"), &created, &e), 0);
    assert_false(created);
    assert_int_equal(io_mkdir_p(tpath("mk/t/u//"), &created, &e), 0);
    assert_true(created && is_dir(tpath("mk/t/u")));
    assert_int_equal(io_mkdir_p(tpath("mk/t/u"), NULL, &e), 0);

    write_text(tpath("mk/file"), "x");
    assert_int_equal(io_mkdir_p(tpath("mk/file"), &created, &e), -1);
    assert_false(created);
    assert_contains(e.msg, "mk/file: exists and is not a directory");
    assert_int_equal(io_mkdir_p(tpath("mk/file/sub"), NULL, &e), -1);
    assert_contains(e.msg, "mk/file: exists and is not a directory");
    assert_int_equal(io_mkdir_p("/proc/self/trm-no/such", NULL, &e), -1);
    assert_contains(e.msg, "/proc/self/trm-no: cannot create directory: ");
    char longp[5000];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    assert_int_equal(io_mkdir_p(longp, NULL, &e), -1); /* the message (path first) is cut at trm_err's size */
}

/* rm -r never follows a link out of the tree: links inside it, and the
 * path itself being a link, are removed as links. */
static void test_remove_tree_keeps_link_targets(void **state) {
    (void)state;
    assert_int_equal(io_mkdir_p(tpath("outside/keep"), NULL, NULL), 0);
    write_text(tpath("outside/keep/f"), VICTIM_TEXT);
    write_text(tpath("outside/g"), VICTIM_TEXT);
    assert_int_equal(io_mkdir_p(tpath("tree/x/y"), NULL, NULL), 0);
    write_text(tpath("tree/x/y/z"), "z");
    write_text(tpath("tree/top"), "t");
    assert_int_equal(symlink(tpath("outside"), tpath("tree/x/to_dir")), 0);
    assert_int_equal(symlink(tpath("outside/g"), tpath("tree/to_file")), 0);
    assert_int_equal(symlink(tpath("outside"), tpath("link_top")), 0);

    assert_int_equal(io_remove_tree(tpath("tree")), 0);
    struct stat st;
    assert_int_not_equal(lstat(tpath("tree"), &st), 0);
    assert_int_equal(io_remove_tree(tpath("link_top")), 0);
    assert_int_not_equal(lstat(tpath("link_top"), &st), 0);
    assert_victim_intact(tpath("outside/keep/f"));
    assert_victim_intact(tpath("outside/g"));
    assert_int_equal(io_remove_tree(tpath("no-such-tree")), 0); /* missing: fine */
    assert_int_equal(io_remove_tree(tpath("outside")), 0);
}

/* The writable-folder probe leaves nothing behind and says why it failed. */
static void test_probe_dir(void **state) {
    (void)state;
    trm_err e;
    assert_int_equal(io_mkdir_p(tpath("probe"), NULL, NULL), 0);
    assert_int_equal(io_probe_dir(tpath("probe"), &e), 0);
    assert_int_equal(rmdir(tpath("probe")), 0); /* empty again: no probe file left */
    errno = 0;
    assert_int_equal(io_probe_dir(tpath("probe"), &e), -1);
    assert_int_equal(errno, ENOENT);
    assert_contains(e.msg, "probe/.trm-probe: cannot create temporary file");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_write_atomic_ignores_planted_link, arm),
        cmocka_unit_test_setup(test_npy_and_safetensors_ignore_planted_link, arm),
        cmocka_unit_test_setup(test_png_ignores_planted_link, arm),
        cmocka_unit_test_setup(test_commit_discard_removes_tmp, arm),
        cmocka_unit_test_setup(test_log_refuses_link, arm),
        cmocka_unit_test_setup(test_fifo_checkpoint_and_arrays, arm),
        cmocka_unit_test_setup(test_fifo_dataset_files, arm),
        cmocka_unit_test_setup(test_fifo_arc_and_metrics, arm),
        cmocka_unit_test(test_json_number_and_string),
        cmocka_unit_test_setup(test_mkdir_p, arm),
        cmocka_unit_test_setup(test_remove_tree_keeps_link_targets, arm),
        cmocka_unit_test_setup(test_probe_dir, arm),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
