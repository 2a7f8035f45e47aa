/* test_util.c - core/util.c: the strict number parsers every command's
 * options go through (no wrap-around, no trailing text), the bounded line
 * reader, text files that are directories, and the memory check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "testutil.h"

TU_TMP_DIR_GROUP(group_setup, group_teardown, "/tmp/trm_util_XXXXXX")

/* The cases: 4294967297 wrapped to 1, "1abc" read as 1,
 * 99999999999 truncated to 1215752191. */
static void test_parse_int(void **state) {
    (void)state;
    trm_err e;
    int v = 7;
    const char *bad[] = {"4294967297", "1abc", "99999999999", "", " 5", "5 ", "0x10", "1e3", "-", "+", "0", "9223372036854775808", NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(util_parse_int("--batch", bad[i], 1, 1000000, &v, &e), -1);
        assert_int_equal(v, 7);
        assert_contains(e.msg, "--batch: expected an integer in 1..1000000, got '");
    }
    assert_int_equal(util_parse_int("--batch", "1000000", 1, 1000000, &v, &e), 0);
    assert_int_equal(v, 1000000);
    assert_int_equal(util_parse_int("--n", "-3", -5, 5, &v, &e), 0);
    assert_int_equal(v, -3);
    long long w;
    assert_int_equal(util_parse_ll("--max", "9223372036854775807", 0, LLONG_MAX, &w, &e), 0);
    assert_true(w == LLONG_MAX);
    assert_int_equal(util_parse_ll("--max", "-1", 0, LLONG_MAX, &w, &e), -1);
    assert_string_equal(e.msg, "--max: expected an integer >= 0, got '-1'");
    assert_int_equal(util_parse_ll("--x", "1", 0, 5, &w, NULL), 0); /* err may be NULL */
}

static void test_parse_u64(void **state) {
    (void)state;
    trm_err e;
    uint64_t v = 0;
    assert_int_equal(util_parse_u64("--seed", "18446744073709551615", &v, &e), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(util_parse_u64("--seed", "18446744073709551616", &v, &e), -1);
    assert_int_equal(util_parse_u64("--seed", "-1", &v, &e), -1); /* strtoull would give 2^64 - 1 */
    assert_contains(e.msg, "--seed: expected an integer in 0..18446744073709551615, got '-1'");
    assert_int_equal(util_parse_u64("--seed", "12x", &v, &e), -1);
}

static void test_parse_double(void **state) {
    (void)state;
    trm_err e;
    double v = 0;
    assert_int_equal(util_parse_double("--t", "0.25", 0, 1, false, &v, &e), 0);
    assert_true(v == 0.25);
    assert_int_equal(util_parse_double("--t", ".5", 0, 1, false, &v, &e), 0);
    const char *bad[] = {"nan", "inf", "1e999", "", " 1", "1x", "2", "-0.1", NULL};
    for (int i = 0; bad[i]; i++) assert_int_equal(util_parse_double("--t", bad[i], 0, 1, false, &v, &e), -1);
    assert_int_equal(util_parse_double("--t", "0", 0, 1, true, &v, &e), -1);
    assert_contains(e.msg, "--t: expected a number > 0 and <= 1, got '0'");
}

static FILE *file_with(const char *name, const char *bytes, size_t n) {
    FILE *f = fopen(tpath(name), "wb");
    assert_non_null(f);
    fwrite(bytes, 1, n, f);
    fclose(f);
    f = fopen(tpath(name), "r");
    assert_non_null(f);
    return f;
}

static void test_read_line(void **state) {
    (void)state;
    char buf[8];
    trm_err e;
    FILE *f = file_with("lines", "ab\r\n\ncdefg\nlast", 15);
    assert_int_equal(util_read_line(f, buf, sizeof buf, &e), 1);
    assert_string_equal(buf, "ab\r");
    assert_int_equal(util_read_line(f, buf, sizeof buf, &e), 1);
    assert_string_equal(buf, "");
    assert_int_equal(util_read_line(f, buf, sizeof buf, &e), 1);
    assert_string_equal(buf, "cdefg");
    assert_int_equal(util_read_line(f, buf, sizeof buf, &e), 1); /* no final newline */
    assert_string_equal(buf, "last");
    assert_int_equal(util_read_line(f, buf, sizeof buf, &e), 0);
    fclose(f);
    f = file_with("long", "12345678\n", 9);
    assert_int_equal(util_read_line(f, buf, sizeof buf, &e), -1);
    assert_string_equal(e.msg, "line longer than 7 bytes");
    fclose(f);
    f = file_with("nul", "ab\0c\n", 5);
    assert_int_equal(util_read_line(f, buf, sizeof buf, &e), -1);
    assert_contains(e.msg, "NUL byte at column 3");
    fclose(f);
}

static void test_open_text(void **state) {
    (void)state;
    trm_err e;
    assert_null(util_open_text(tu_dir, &e));
    assert_contains(e.msg, "is a directory");
    assert_null(util_open_text(tpath("missing"), &e));
    assert_contains(e.msg, "No such file");
    assert_true(util_open_text("-", &e) == stdin);
}

static void test_mem_check(void **state) {
    (void)state;
    trm_err e;
    unsetenv("TRM_NO_MEMCHECK");
    assert_true(util_mem_available() > 0); /* Linux: /proc/meminfo */
    assert_int_equal(util_mem_check(1e6, "a small job", &e), 0);
    assert_int_equal(util_mem_check(1e18, "training at batch 2000", &e), -1);
    assert_contains(e.msg, "training at batch 2000 needs about 1000000000.0 GB of memory");
    assert_contains(e.msg, "--ignore-memory-check");
    setenv("TRM_NO_MEMCHECK", "1", 1);
    assert_int_equal(util_mem_check(1e18, "x", &e), 0);
    unsetenv("TRM_NO_MEMCHECK");
}

/* The one monotonic clock: never goes back, and counts real time. */
static void test_now_s(void **state) {
    (void)state;
    double t0 = util_now_s();
    struct timespec d = {0, 20 * 1000 * 1000};
    nanosleep(&d, NULL);
    double t1 = util_now_s();
    assert_true(t1 - t0 >= 0.019 && t1 - t0 < 5);
}

/* The one backend-name parser (TRM_MATMUL and trm bench --matmul). */
static void test_matmul_backend_parse(void **state) {
    (void)state;
    trm_matmul_backend b = TRM_MATMUL_PORTABLE;
    assert_int_equal(trm_matmul_backend_parse("onednn", &b), 0);
    assert_int_equal(b, TRM_MATMUL_ONEDNN);
    assert_int_equal(trm_matmul_backend_parse("avx512", &b), 0);
    assert_int_equal(b, TRM_MATMUL_AVX512);
    assert_int_equal(trm_matmul_backend_parse("openblas", &b), 0);
    assert_int_equal(b, TRM_MATMUL_BLAS);
    assert_int_equal(trm_matmul_backend_parse("blas", &b), 0);
    assert_int_equal(b, TRM_MATMUL_BLAS);
    assert_int_equal(trm_matmul_backend_parse("portable", &b), 0);
    assert_int_equal(b, TRM_MATMUL_PORTABLE);
    const char *bad[] = {"", "BLAS", "onednn ", "avx", "gpu"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(trm_matmul_backend_parse(bad[i], &b), -1);
        assert_int_equal(b, TRM_MATMUL_PORTABLE); /* untouched */
    }
    assert_int_equal(trm_matmul_backend_parse(NULL, &b), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_int),    cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_parse_double), cmocka_unit_test(test_read_line),
        cmocka_unit_test(test_open_text),    cmocka_unit_test(test_mem_check),
        cmocka_unit_test(test_now_s),        cmocka_unit_test(test_matmul_backend_parse),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
