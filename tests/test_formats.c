/* test_formats.c - safetensors and .npy readers/writers: round trips,
 * conversions, and one test per malformed-file case. Each malformed file
 * is built byte by byte in a private temp directory, and each test checks
 * that the error names both the file and the offending field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

#include "io/npy.h"
#include "io/safetensors.h"
#include "testutil.h"

/* ---------------------------------------------------------------- fixtures */

TU_TMP_DIR_GROUP(group_setup, group_teardown, "/tmp/trm_formats_XXXXXX")

static void write_file(const char *path, const void *buf, size_t len) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Whether any "<name>.tmp.<pid>" file is left in the temp dir. */
static bool tmp_file_left(void) {
    DIR *d = opendir(tu_dir);
    assert_non_null(d);
    bool found = false;
    for (struct dirent *e; (e = readdir(d));)
        found |= strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return found;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---------------------------------------------------------------- safetensors: malformed files */

/* A safetensors file with the given length prefix, header text and
 * data_len zero bytes of data. */
static void write_st_raw(const char *path, uint64_t hlen, const char *header, size_t data_len) {
    size_t n = strlen(header);
    uint8_t *buf = calloc(1, 8 + n + data_len);
    assert_non_null(buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(hlen >> (8 * i));
    memcpy(buf + 8, header, n);
    write_file(path, buf, 8 + n + data_len);
    free(buf);
}

static void write_st(const char *path, const char *header, size_t data_len) {
    write_st_raw(path, strlen(header), header, data_len);
}

/* st_open must fail with a one-line message naming path and both needles. */
static void expect_st_error(const char *path, const char *needle, const char *needle2) {
    trm_err err = {{0}};
    st_file *f = st_open(path, &err);
    if (f) {
        st_close(f);
        fail_msg("st_open(%s) succeeded on a malformed file", path);
    }
    assert_contains(err.msg, path);
    assert_contains(err.msg, needle);
    if (needle2)
        assert_contains(err.msg, needle2);
    assert_null(strchr(err.msg, '\n'));
}

/* Writes header (with 'data_len' data bytes) to a file named after the
 * test and expects the open to fail. */
static void check_bad_header(const char *name, const char *header, size_t data_len,
                             const char *needle, const char *needle2) {
    const char *p = tpath(name);
    write_st(p, header, data_len);
    expect_st_error(p, needle, needle2);
}

static void test_st_empty_file(void **state) {
    (void)state;
    write_file(tpath("empty.st"), "", 0);
    expect_st_error(tpath("empty.st"), "empty file", "8-byte");
}

static void test_st_short_file(void **state) {
    (void)state;
    write_file(tpath("short.st"), "\x02\0\0\0", 4);
    expect_st_error(tpath("short.st"), "too short", "8-byte");
}

static void test_st_missing_file(void **state) {
    (void)state;
    expect_st_error(tpath("nope.st"), "No such file", NULL);
}

static void test_st_directory(void **state) {
    (void)state;
    expect_st_error(tu_dir, "directory", NULL);
}

static void test_st_header_past_eof(void **state) {
    (void)state;
    write_st_raw(tpath("past.st"), 1000, "{}", 0);
    expect_st_error(tpath("past.st"), "header length 1000", "past the end");
}

static void test_st_header_absurd(void **state) {
    (void)state;
    write_st_raw(tpath("huge.st"), 1ULL << 62, "{}", 0);
    expect_st_error(tpath("huge.st"), "header length", "absurdly large");
}

static void test_st_header_not_json(void **state) {
    (void)state;
    check_bad_header("notjson.st", "{\"a\": {\"dtype\": ", 0, "header", "not valid JSON");
}

static void test_st_header_trailing_garbage(void **state) {
    (void)state;
    check_bad_header("trail.st", "{} xyz", 0, "header", "not valid JSON");
}

static void test_st_header_not_object(void **state) {
    (void)state;
    check_bad_header("notobj.st", "[1, 2]", 0, "header", "expected a JSON object");
}

static void test_st_header_bad_utf8(void **state) {
    (void)state;
    check_bad_header("utf8.st", "{\"\xc3\x28\": 1}", 0, "header", "UTF-8");
}

static void test_st_entry_not_object(void **state) {
    (void)state;
    check_bad_header("entry.st", "{\"w\": [1, 2]}", 0, "tensor 'w'", "expected an object");
}

static void test_st_unknown_dtype(void **state) {
    (void)state;
    check_bad_header("dtype.st",
                     "{\"w\": {\"dtype\": \"F99\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
                     4, "tensor 'w': dtype", "F99");
}

static void test_st_missing_dtype(void **state) {
    (void)state;
    check_bad_header("nodtype.st", "{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
                     "tensor 'w': dtype", "expected a string");
}

static void test_st_shape_not_array(void **state) {
    (void)state;
    check_bad_header("shape1.st",
                     "{\"w\": {\"dtype\": \"F32\", \"shape\": 3, \"data_offsets\": [0, 12]}}",
                     12, "tensor 'w': shape", "non-negative integers");
}

static void test_st_shape_negative(void **state) {
    (void)state;
    check_bad_header("shape2.st",
                     "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, -1], \"data_offsets\": [0, 4]}}",
                     4, "tensor 'w': shape[1]", "non-negative integer");
}

static void test_st_shape_fraction(void **state) {
    (void)state;
    check_bad_header("shape3.st",
                     "{\"w\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}",
                     4, "tensor 'w': shape[0]", "integer");
}

static void test_st_shape_too_many_dims(void **state) {
    (void)state;
    check_bad_header("shape4.st",
                     "{\"w\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], "
                     "\"data_offsets\": [0, 1]}}",
                     1, "tensor 'w': shape", "at most 8");
}

static void test_st_shape_overflow(void **state) {
    (void)state;
    check_bad_header("shape5.st",
                     "{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], "
                     "\"data_offsets\": [0, 4]}}",
                     4, "tensor 'w': shape", "overflows");
}

static void test_st_offsets_not_pair(void **state) {
    (void)state;
    check_bad_header("off1.st",
                     "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4,
                     "tensor 'w': data_offsets", "[begin, end]");
}

static void test_st_offsets_reversed(void **state) {
    (void)state;
    check_bad_header("off2.st",
                     "{\"w\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, 0]}}", 4,
                     "tensor 'w': data_offsets", "begin <= end");
}

static void test_st_offsets_past_end(void **state) {
    (void)state;
    check_bad_header("off3.st",
                     "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}",
                     8, "tensor 'w': data_offsets", "past the data section");
}

static void test_st_offsets_size_mismatch(void **state) {
    (void)state;
    check_bad_header("off4.st",
                     "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8,
                     "tensor 'w': data_offsets", "3 elements x 4 bytes");
}

static void test_st_overlap(void **state) {
    (void)state;
    check_bad_header("overlap.st",
                     "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                     " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
                     12, "data_offsets", "overlaps tensor 'a'");
}

static void test_st_duplicate_name(void **state) {
    (void)state;
    check_bad_header("dup.st",
                     "{\"a\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]},"
                     " \"a\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [1, 2]}}",
                     2, "tensor 'a'", "twice");
}

static void test_st_metadata_not_string(void **state) {
    (void)state;
    check_bad_header("meta1.st", "{\"__metadata__\": {\"config\": 3}}", 0,
                     "__metadata__: value of 'config'", "expected a string");
}

static void test_st_metadata_not_object(void **state) {
    (void)state;
    check_bad_header("meta2.st", "{\"__metadata__\": \"x\"}", 0, "__metadata__",
                     "expected an object");
}

/* ---------------------------------------------------------------- safetensors: round trips */

static void check_shape(const st_tensor *t, st_dtype d, int ndim, const int64_t *shape) {
    assert_non_null(t);
    assert_int_equal(t->dtype, d);
    assert_int_equal(t->ndim, ndim);
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        assert_int_equal(t->shape[i], shape[i]);
        numel *= shape[i];
    }
    assert_int_equal(t->numel, numel);
    assert_int_equal(t->nbytes, (size_t)numel * (size_t)st_dtype_size(d));
}

static void test_st_roundtrip(void **state) {
    (void)state;
    const float w[6] = {1.5f, -2.0f, 0.0f, 3.25f, 1e-20f, -1e20f};
    const int32_t ids[3] = {INT32_MIN, 0, INT32_MAX};
    const int64_t big[2] = {-5, (1LL << 31) - 1};
    const uint8_t u8[5] = {0, 1, 127, 200, 255};
    const uint8_t flags[3] = {0, 1, 0};
    const int16_t i16[2] = {-32768, 32767};
    const int8_t i8[2] = {-128, 127};
    const double f64[2] = {0.1, -3e5};
    const float scalar = 42.0f;
    const int64_t s23[2] = {2, 3}, s3[1] = {3}, s2[1] = {2}, s5[1] = {5}, s03[2] = {0, 3};
    trm_err err = {{0}};
    st_writer *wr = st_writer_new();
    assert_int_equal(st_writer_add(wr, "model.w", ST_F32, 2, s23, w, &err), 0);
    assert_int_equal(st_writer_add(wr, "ids", ST_I32, 1, s3, ids, &err), 0);
    assert_int_equal(st_writer_add(wr, "big", ST_I64, 1, s2, big, &err), 0);
    assert_int_equal(st_writer_add(wr, "u8", ST_U8, 1, s5, u8, &err), 0);
    assert_int_equal(st_writer_add(wr, "flags", ST_BOOL, 1, s3, flags, &err), 0);
    assert_int_equal(st_writer_add(wr, "i16", ST_I16, 1, s2, i16, &err), 0);
    assert_int_equal(st_writer_add(wr, "i8", ST_I8, 1, s2, i8, &err), 0);
    assert_int_equal(st_writer_add(wr, "f64", ST_F64, 1, s2, f64, &err), 0);
    assert_int_equal(st_writer_add(wr, "scalar", ST_F32, 0, NULL, &scalar, &err), 0);
    assert_int_equal(st_writer_add(wr, "empty", ST_F32, 2, s03, NULL, &err), 0);
    assert_int_equal(st_writer_meta(wr, "config", "{\"hidden_size\": 64}", &err), 0);
    assert_int_equal(st_writer_meta(wr, "format", "draft", &err), 0);
    assert_int_equal(st_writer_meta(wr, "format", "pt", &err), 0); /* replaces */
    assert_int_equal(st_writer_write(wr, tpath("rt.safetensors"), &err), 0);
    st_writer_free(wr);
    assert_false(tmp_file_left());

    st_file *f = st_open(tpath("rt.safetensors"), &err);
    assert_non_null(f);
    assert_int_equal(f->n, 10);
    assert_string_equal(f->tensors[0].name, "model.w"); /* insertion order */
    assert_string_equal(f->tensors[9].name, "empty");
    assert_string_equal(st_metadata(f, "config"), "{\"hidden_size\": 64}");
    assert_string_equal(st_metadata(f, "format"), "pt");
    assert_int_equal(f->n_meta, 2);
    assert_null(st_metadata(f, "absent"));
    assert_null(st_find(f, "absent"));

    const st_tensor *t = st_find(f, "model.w");
    check_shape(t, ST_F32, 2, s23);
    float fo[6];
    assert_int_equal(st_to_f32(f, t, fo, &err), 0);
    assert_memory_equal(fo, w, sizeof w);

    int32_t io[5];
    check_shape(t = st_find(f, "ids"), ST_I32, 1, s3);
    assert_int_equal(st_to_i32(f, t, io, &err), 0);
    assert_memory_equal(io, ids, sizeof ids);
    check_shape(t = st_find(f, "big"), ST_I64, 1, s2);
    assert_int_equal(st_to_i32(f, t, io, &err), 0);
    assert_int_equal(io[0], -5);
    assert_int_equal(io[1], big[1]);
    check_shape(t = st_find(f, "u8"), ST_U8, 1, s5);
    assert_int_equal(st_to_i32(f, t, io, &err), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(io[i], u8[i]);
    check_shape(t = st_find(f, "flags"), ST_BOOL, 1, s3);
    assert_int_equal(st_to_i32(f, t, io, &err), 0);
    assert_int_equal(io[1], 1);
    assert_int_equal(io[2], 0);
    check_shape(t = st_find(f, "i16"), ST_I16, 1, s2);
    assert_int_equal(st_to_i32(f, t, io, &err), 0);
    assert_int_equal(io[0], -32768);
    check_shape(t = st_find(f, "i8"), ST_I8, 1, s2);
    assert_int_equal(st_to_i32(f, t, io, &err), 0);
    assert_int_equal(io[0], -128);
    assert_int_equal(io[1], 127);
    check_shape(t = st_find(f, "f64"), ST_F64, 1, s2);
    assert_int_equal(st_to_f32(f, t, fo, &err), 0);
    assert_true(fo[0] == 0.1f && fo[1] == -3e5f);
    check_shape(t = st_find(f, "scalar"), ST_F32, 0, NULL);
    assert_int_equal(st_to_f32(f, t, fo, &err), 0);
    assert_true(fo[0] == 42.0f);
    check_shape(t = st_find(f, "empty"), ST_F32, 2, s03);
    assert_int_equal(st_to_f32(f, t, fo, &err), 0);
    st_close(f);
}

/* Two writes of the same content give identical bytes, the data section
 * starts 8-byte aligned, and tensors are packed in insertion order. */
static void test_st_layout_deterministic(void **state) {
    (void)state;
    const float a[3] = {1, 2, 3};
    const uint8_t b[1] = {7};
    const int64_t s3[1] = {3}, s1[1] = {1};
    trm_err err = {{0}};
    for (int k = 0; k < 2; k++) {
        st_writer *w = st_writer_new();
        assert_int_equal(st_writer_add(w, "z_b", ST_U8, 1, s1, b, &err), 0);
        assert_int_equal(st_writer_add(w, "a", ST_F32, 1, s3, a, &err), 0);
        assert_int_equal(st_writer_meta(w, "k", "v", &err), 0);
        assert_int_equal(st_writer_write(w, tpath(k ? "det2.st" : "det1.st"), &err), 0);
        st_writer_free(w);
    }
    uint8_t x[512], y[512];
    FILE *fx = fopen(tpath("det1.st"), "rb"), *fy = fopen(tpath("det2.st"), "rb");
    size_t nx = fread(x, 1, sizeof x, fx), ny = fread(y, 1, sizeof y, fy);
    fclose(fx);
    fclose(fy);
    assert_int_equal(nx, ny);
    assert_memory_equal(x, y, nx);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | x[i];
    assert_int_equal((8 + hlen) % 8, 0);
    assert_int_equal(nx, 8 + hlen + 1 + 12);
    assert_int_equal(x[8 + hlen], 7); /* z_b first, as added */
    st_file *f = st_open(tpath("det1.st"), &err);
    assert_non_null(f);
    assert_ptr_equal(st_find(f, "a")->data, st_find(f, "z_b")->data + 1);
    st_close(f);
}

static void test_half_conversions(void **state) {
    (void)state;
    assert_true(st_bf16_to_f32(0x3F80) == 1.0f);
    assert_true(st_bf16_to_f32(0xC000) == -2.0f);
    assert_true(st_bf16_to_f32(0x3E20) == 0.15625f);
    assert_true(st_bf16_to_f32(0x0000) == 0.0f);
    assert_true(isinf(st_bf16_to_f32(0x7F80)));
    assert_true(isnan(st_bf16_to_f32(0x7FC0)));
    assert_true(st_f16_to_f32(0x3C00) == 1.0f);
    assert_true(st_f16_to_f32(0xC000) == -2.0f);
    assert_true(st_f16_to_f32(0x7BFF) == 65504.0f);
    assert_true(st_f16_to_f32(0x0001) == ldexpf(1.0f, -24)); /* smallest subnormal */
    assert_true(st_f16_to_f32(0x0400) == ldexpf(1.0f, -14)); /* smallest normal */
    assert_true(signbit(st_f16_to_f32(0x8000)) && st_f16_to_f32(0x8000) == 0.0f);
    assert_true(isinf(st_f16_to_f32(0xFC00)) && st_f16_to_f32(0xFC00) < 0);
    assert_true(isnan(st_f16_to_f32(0x7E00)));
}

/* BF16 and F16 through a file, at an odd (unaligned) data offset. */
static void test_st_half_tensors(void **state) {
    (void)state;
    const uint16_t bf[3] = {0x3F80, 0xC000, 0x3E20}, h[2] = {0x3C00, 0x7BFF};
    const uint8_t pad[1] = {0};
    const int64_t s1[1] = {1}, s3[1] = {3}, s2[1] = {2};
    trm_err err = {{0}};
    st_writer *w = st_writer_new();
    assert_int_equal(st_writer_add(w, "pad", ST_U8, 1, s1, pad, &err), 0);
    assert_int_equal(st_writer_add(w, "bf", ST_BF16, 1, s3, bf, &err), 0);
    assert_int_equal(st_writer_add(w, "h", ST_F16, 1, s2, h, &err), 0);
    assert_int_equal(st_writer_write(w, tpath("half.st"), &err), 0);
    st_writer_free(w);
    st_file *f = st_open(tpath("half.st"), &err);
    assert_non_null(f);
    float out[3];
    assert_int_equal(st_to_f32(f, st_find(f, "bf"), out, &err), 0);
    assert_true(out[0] == 1.0f && out[1] == -2.0f && out[2] == 0.15625f);
    assert_int_equal(st_to_f32(f, st_find(f, "h"), out, &err), 0);
    assert_true(out[0] == 1.0f && out[1] == 65504.0f);
    st_close(f);
}

static void test_st_conversion_errors(void **state) {
    (void)state;
    const int64_t big[2] = {1, 1LL << 40};
    const float x[2] = {1, 2};
    const int64_t s2[1] = {2};
    trm_err err = {{0}};
    st_writer *w = st_writer_new();
    assert_int_equal(st_writer_add(w, "big", ST_I64, 1, s2, big, &err), 0);
    assert_int_equal(st_writer_add(w, "x", ST_F32, 1, s2, x, &err), 0);
    assert_int_equal(st_writer_write(w, tpath("conv.st"), &err), 0);
    st_writer_free(w);
    st_file *f = st_open(tpath("conv.st"), &err);
    assert_non_null(f);
    int32_t io[2];
    float fo[2];
    assert_int_equal(st_to_i32(f, st_find(f, "big"), io, &err), -1);
    assert_contains(err.msg, "tensor 'big': element 1");
    assert_contains(err.msg, "int32");
    assert_int_equal(st_to_f32(f, st_find(f, "big"), fo, &err), -1);
    assert_contains(err.msg, "tensor 'big': dtype I64");
    assert_int_equal(st_to_i32(f, st_find(f, "x"), io, &err), -1);
    assert_contains(err.msg, "tensor 'x': dtype F32");
    assert_contains(err.msg, tpath("conv.st"));
    st_close(f);
}

static void test_st_writer_rejects(void **state) {
    (void)state;
    const float x[1] = {1};
    const int64_t s1[1] = {1}, neg[1] = {-1}, s9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    trm_err err = {{0}};
    st_writer *w = st_writer_new();
    assert_int_equal(st_writer_add(w, "x", ST_F32, 1, s1, x, &err), 0);
    assert_int_equal(st_writer_add(w, "x", ST_F32, 1, s1, x, &err), -1);
    assert_contains(err.msg, "'x' added twice");
    assert_int_equal(st_writer_add(w, "__metadata__", ST_F32, 1, s1, x, &err), -1);
    assert_int_equal(st_writer_add(w, "n", ST_F32, 1, neg, x, &err), -1);
    assert_contains(err.msg, "negative");
    assert_int_equal(st_writer_add(w, "d", ST_F32, 9, s9, x, &err), -1);
    assert_int_equal(st_writer_add(w, "nul", ST_F32, 1, s1, NULL, &err), -1);
    st_writer_free(w);
    st_writer_free(NULL);
    st_close(NULL);
}

/* Replacing an existing file works and leaves no temp file behind. */
static void test_st_write_replaces(void **state) {
    (void)state;
    const char *p = tpath("replace.st");
    write_file(p, "old contents", 12);
    const int32_t v[1] = {9};
    const int64_t s1[1] = {1};
    trm_err err = {{0}};
    st_writer *w = st_writer_new();
    assert_int_equal(st_writer_add(w, "v", ST_I32, 1, s1, v, &err), 0);
    assert_int_equal(st_writer_write(w, p, &err), 0);
    st_writer_free(w);
    assert_false(tmp_file_left());
    st_file *f = st_open(p, &err);
    assert_non_null(f);
    assert_non_null(st_find(f, "v"));
    st_close(f);
}

static void test_st_write_failure_leaves_nothing(void **state) {
    (void)state;
    const char *p = tpath("no_such_dir/out.st");
    const float x[1] = {1};
    const int64_t s1[1] = {1};
    trm_err err = {{0}};
    st_writer *w = st_writer_new();
    assert_int_equal(st_writer_add(w, "x", ST_F32, 1, s1, x, &err), 0);
    assert_int_equal(st_writer_write(w, p, &err), -1);
    assert_contains(err.msg, p);
    assert_contains(err.msg, "No such file");
    /* a directory at the target path makes the rename itself fail */
    const char *d = tpath("target_is_dir.st");
    assert_int_equal(mkdir(d, 0755), 0);
    assert_int_equal(st_writer_write(w, d, &err), -1);
    assert_contains(err.msg, "rename");
    st_writer_free(w);
    assert_false(exists(p));
    assert_false(tmp_file_left());
    assert_int_equal(rmdir(d), 0);
}

/* ---------------------------------------------------------------- npy */

/* A .npy file with the given version and header dict (padded to 64 as
 * numpy does) followed by raw data bytes. */
static void write_npy_raw(const char *path, int major, const char *dict, const void *data,
                          size_t len) {
    size_t pre = major == 1 ? 10 : 12, n = strlen(dict);
    size_t hlen = ((pre + n + 1 + 63) / 64) * 64 - pre;
    uint8_t *buf = malloc(pre + hlen + len);
    assert_non_null(buf);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major, buf[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        buf[8 + i] = (uint8_t)(hlen >> (8 * i));
    memset(buf + pre, ' ', hlen);
    memcpy(buf + pre, dict, n);
    buf[pre + hlen - 1] = '\n';
    if (len)
        memcpy(buf + pre + hlen, data, len);
    write_file(path, buf, pre + hlen + len);
    free(buf);
}

static void expect_npy_error(const char *path, bool want_float, const char *needle,
                             const char *needle2) {
    trm_err err = {{0}};
    npy_shape s;
    void *p = want_float ? (void *)npy_read_f32(path, &s, &err)
                         : (void *)npy_read_i32(path, &s, &err);
    if (p) {
        free(p);
        fail_msg("reading %s succeeded on a bad file", path);
    }
    assert_contains(err.msg, path);
    assert_contains(err.msg, needle);
    if (needle2)
        assert_contains(err.msg, needle2);
    assert_null(strchr(err.msg, '\n'));
}

static void test_npy_i4_roundtrip(void **state) {
    (void)state;
    int32_t v[12];
    for (int i = 0; i < 12; i++)
        v[i] = (i - 6) * 1000003;
    const int64_t shape[2] = {3, 4};
    trm_err err = {{0}};
    const char *p = tpath("a.npy");
    assert_int_equal(npy_write(p, "<i4", 2, shape, v, &err), 0);
    assert_false(tmp_file_left());
    npy_shape s;
    int32_t *r = npy_read_i32(p, &s, &err);
    assert_non_null(r);
    assert_int_equal(s.ndim, 2);
    assert_int_equal(s.shape[0], 3);
    assert_int_equal(s.shape[1], 4);
    assert_int_equal(s.numel, 12);
    assert_memory_equal(r, v, sizeof v);
    free(r);
    /* numpy's layout: version 1.0, data 64-byte aligned, newline-ended */
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal((st.st_size - 48) % 64, 0);
}

static void test_npy_f4_roundtrip(void **state) {
    (void)state;
    const float v[5] = {0.5f, -1.0f, 3e38f, 1e-40f, 0.0f};
    const int64_t shape[1] = {5};
    trm_err err = {{0}};
    assert_int_equal(npy_write(tpath("f.npy"), "<f4", 1, shape, v, &err), 0);
    npy_shape s;
    float *r = npy_read_f32(tpath("f.npy"), &s, &err);
    assert_non_null(r);
    assert_int_equal(s.ndim, 1);
    assert_int_equal(s.numel, 5);
    assert_memory_equal(r, v, sizeof v);
    free(r);
}

static void test_npy_scalar_and_empty(void **state) {
    (void)state;
    const int32_t one = 77;
    const int64_t shape[2] = {0, 3};
    trm_err err = {{0}};
    npy_shape s;
    assert_int_equal(npy_write(tpath("scalar.npy"), "<i4", 0, NULL, &one, &err), 0);
    int32_t *r = npy_read_i32(tpath("scalar.npy"), &s, &err);
    assert_non_null(r);
    assert_int_equal(s.ndim, 0);
    assert_int_equal(s.numel, 1);
    assert_int_equal(r[0], 77);
    free(r);
    assert_int_equal(npy_write(tpath("empty.npy"), "<f4", 2, shape, NULL, &err), 0);
    float *e = npy_read_f32(tpath("empty.npy"), &s, &err);
    assert_non_null(e);
    assert_int_equal(s.ndim, 2);
    assert_int_equal(s.numel, 0);
    free(e);
}

/* Every accepted integer descr, including big-endian and 1-byte spellings. */
static void test_npy_int_descrs(void **state) {
    (void)state;
    static const struct {
        const char *descr;
        uint8_t bytes[16];
        int32_t want[2];
    } cases[] = {
        {"|i1", {0xff, 0x7f}, {-1, 127}},
        {"<i1", {0x80, 0x01}, {-128, 1}},
        {"|u1", {0xff, 0x00}, {255, 0}},
        {"|b1", {0x01, 0x00}, {1, 0}},
        {"<i2", {0x00, 0x80, 0x05, 0x00}, {-32768, 5}},
        {"<u2", {0xff, 0xff, 0x01, 0x00}, {65535, 1}},
        {">i4", {0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x01, 0x00}, {-2, 256}},
        {"=i4", {0x03, 0, 0, 0, 0x04, 0, 0, 0}, {3, 4}},
        {"<u4", {0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0}, {INT32_MAX, 0}},
        {"<i8", {0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0xff, 9}, {INT32_MIN, 9}},
        {"<u8", {0x2a, 0, 0, 0, 0, 0, 0, 0, 1}, {42, 1}},
        {">i8", {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, 0, 0, 0, 0, 0, 0, 0, 6}, {-3, 6}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (2,), }",
                 cases[c].descr);
        int size = cases[c].descr[2] - '0';
        write_npy_raw(tpath("int.npy"), 1, dict, cases[c].bytes, 2 * (size_t)size);
        trm_err err = {{0}};
        npy_shape s;
        int32_t *r = npy_read_i32(tpath("int.npy"), &s, &err);
        if (!r)
            fail_msg("%s: %s", cases[c].descr, err.msg);
        assert_int_equal(s.numel, 2);
        assert_int_equal(r[0], cases[c].want[0]);
        assert_int_equal(r[1], cases[c].want[1]);
        free(r);
    }
}

static void test_npy_float_descrs(void **state) {
    (void)state;
    const double d[2] = {0.25, -1e10};
    const uint8_t h[4] = {0x00, 0x3c, 0x00, 0xc0};         /* f2: 1, -2 */
    const uint8_t be[8] = {0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0}; /* >f4: 1, -2 */
    trm_err err = {{0}};
    npy_shape s;
    float *r;
    write_npy_raw(tpath("f8.npy"), 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}",
                  d, sizeof d);
    assert_non_null(r = npy_read_f32(tpath("f8.npy"), &s, &err));
    assert_true(r[0] == 0.25f && r[1] == -1e10f);
    free(r);
    write_npy_raw(tpath("f2.npy"), 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2,)}",
                  h, sizeof h);
    assert_non_null(r = npy_read_f32(tpath("f2.npy"), &s, &err));
    assert_true(r[0] == 1.0f && r[1] == -2.0f);
    free(r);
    write_npy_raw(tpath("be.npy"), 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}",
                  be, sizeof be);
    assert_non_null(r = npy_read_f32(tpath("be.npy"), &s, &err));
    assert_true(r[0] == 1.0f && r[1] == -2.0f);
    free(r);
}

/* Versions 2.0 and 3.0, double quotes, odd spacing, Python 2 long dims. */
static void test_npy_header_variants(void **state) {
    (void)state;
    const int32_t v[6] = {1, 2, 3, 4, 5, 6};
    trm_err err = {{0}};
    npy_shape s;
    int32_t *r;
    write_npy_raw(tpath("v2.npy"), 2, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }",
                  v, sizeof v);
    assert_non_null(r = npy_read_i32(tpath("v2.npy"), &s, &err));
    assert_int_equal(s.shape[1], 3);
    free(r);
    write_npy_raw(tpath("v3.npy"), 3,
                  "{ \"shape\":(6L,) ,\"descr\":\"<i4\",\"fortran_order\":False}", v, sizeof v);
    assert_non_null(r = npy_read_i32(tpath("v3.npy"), &s, &err));
    assert_int_equal(s.ndim, 1);
    assert_int_equal(s.shape[0], 6);
    assert_memory_equal(r, v, sizeof v);
    free(r);
}

static void test_npy_bad_magic(void **state) {
    (void)state;
    write_file(tpath("magic.npy"), "\x93NUMPX\x01\x00\x00\x00xxxx", 14);
    expect_npy_error(tpath("magic.npy"), false, "bad magic", NULL);
}

static void test_npy_bad_version(void **state) {
    (void)state;
    write_file(tpath("ver.npy"), "\x93NUMPY\x04\x00\x00\x00xxxx", 14);
    expect_npy_error(tpath("ver.npy"), false, "version 4.0", NULL);
}

static void test_npy_truncated_header(void **state) {
    (void)state;
    write_file(tpath("th.npy"), "\x93NUMPY\x01\x00\x76\x00{'descr'", 17);
    expect_npy_error(tpath("th.npy"), false, "truncated header", "118");
    write_file(tpath("th2.npy"), "\x93NUMPY\x01\x00", 8);
    expect_npy_error(tpath("th2.npy"), false, "truncated", NULL);
}

static void test_npy_truncated_data(void **state) {
    (void)state;
    const int32_t v[3] = {1, 2, 3};
    write_npy_raw(tpath("td.npy"), 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }",
                  v, sizeof v);
    expect_npy_error(tpath("td.npy"), false, "truncated data", "expected 16 bytes");
}

static void test_npy_size_mismatch(void **state) {
    (void)state;
    const int32_t v[3] = {1, 2, 3};
    write_npy_raw(tpath("sm.npy"), 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
                  v, sizeof v);
    expect_npy_error(tpath("sm.npy"), false, "data size mismatch", "found 12");
}

static void test_npy_unknown_descr(void **state) {
    (void)state;
    const uint8_t z[16] = {0};
    write_npy_raw(tpath("c8.npy"), 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }",
                  z, 16);
    expect_npy_error(tpath("c8.npy"), true, "descr", "'<c8'");
    write_npy_raw(tpath("f4p.npy"), 1, "{'descr': '|f4', 'fortran_order': False, 'shape': (1,), }",
                  z, 4);
    expect_npy_error(tpath("f4p.npy"), true, "descr", "'|f4'");
    write_npy_raw(tpath("rec.npy"), 1,
                  "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }", z, 4);
    expect_npy_error(tpath("rec.npy"), false, "descr", "structured");
}

static void test_npy_wrong_kind(void **state) {
    (void)state;
    const int32_t v[1] = {1};
    const int64_t s1[1] = {1};
    trm_err err = {{0}};
    assert_int_equal(npy_write(tpath("k.npy"), "<i4", 1, s1, v, &err), 0);
    expect_npy_error(tpath("k.npy"), true, "descr", "not a float type");
    assert_int_equal(npy_write(tpath("k.npy"), "<f4", 1, s1, v, &err), 0);
    expect_npy_error(tpath("k.npy"), false, "descr", "not an integer type");
}

static void test_npy_fortran_order(void **state) {
    (void)state;
    const int32_t v[4] = {1, 2, 3, 4};
    write_npy_raw(tpath("fo.npy"), 1, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 2), }",
                  v, sizeof v);
    expect_npy_error(tpath("fo.npy"), false, "fortran_order", "not supported");
}

static void test_npy_out_of_int32_range(void **state) {
    (void)state;
    const int64_t v[3] = {0, 1, -(1LL << 33)};
    const uint32_t u[2] = {5, 0x80000000u};
    const int64_t s3[1] = {3}, s2[1] = {2};
    trm_err err = {{0}};
    assert_int_equal(npy_write(tpath("i8.npy"), "<i8", 1, s3, v, &err), 0);
    expect_npy_error(tpath("i8.npy"), false, "element 2 = -8589934592", "int32");
    assert_int_equal(npy_write(tpath("u4.npy"), "<u4", 1, s2, u, &err), 0);
    expect_npy_error(tpath("u4.npy"), false, "element 1 = 2147483648", "int32");
}

static void test_npy_bad_dict(void **state) {
    (void)state;
    const int32_t v[1] = {1};
    write_npy_raw(tpath("nokey.npy"), 1, "{'descr': '<i4', 'shape': (1,), }", v, 4);
    expect_npy_error(tpath("nokey.npy"), false, "header", "missing key");
    write_npy_raw(tpath("shape.npy"), 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (-1,)}",
                  v, 4);
    expect_npy_error(tpath("shape.npy"), false, "shape", "non-negative");
    write_npy_raw(tpath("extra.npy"), 1,
                  "{'descr': '<i4', 'fortran_order': False, 'shape': (1,), 'x': 1}", v, 4);
    expect_npy_error(tpath("extra.npy"), false, "header", "unexpected key 'x'");
}

static void test_npy_files_not_there(void **state) {
    (void)state;
    write_file(tpath("empty0.npy"), "", 0);
    expect_npy_error(tpath("empty0.npy"), false, "empty file", NULL);
    expect_npy_error(tpath("missing.npy"), true, "No such file", NULL);
    expect_npy_error(tu_dir, true, "directory", NULL);
}

static void test_npy_write_failures(void **state) {
    (void)state;
    const float v[1] = {1};
    const int64_t s1[1] = {1}, neg[1] = {-2};
    trm_err err = {{0}};
    const char *p = tpath("no_dir/x.npy");
    assert_int_equal(npy_write(p, "<f4", 1, s1, v, &err), -1);
    assert_contains(err.msg, p);
    assert_false(exists(p));
    assert_false(tmp_file_left());
    assert_int_equal(npy_write(tpath("bad.npy"), ">f4", 1, s1, v, &err), -1);
    assert_contains(err.msg, "'>f4'");
    assert_int_equal(npy_write(tpath("bad.npy"), "<f4", 1, neg, v, &err), -1);
    assert_contains(err.msg, "shape[0]");
    assert_false(exists(tpath("bad.npy")));
}

/* ---------------------------------------------------------------- main */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_st_roundtrip),
        cmocka_unit_test(test_st_layout_deterministic),
        cmocka_unit_test(test_half_conversions),
        cmocka_unit_test(test_st_half_tensors),
        cmocka_unit_test(test_st_conversion_errors),
        cmocka_unit_test(test_st_writer_rejects),
        cmocka_unit_test(test_st_write_replaces),
        cmocka_unit_test(test_st_write_failure_leaves_nothing),
        cmocka_unit_test(test_st_empty_file),
        cmocka_unit_test(test_st_short_file),
        cmocka_unit_test(test_st_missing_file),
        cmocka_unit_test(test_st_directory),
        cmocka_unit_test(test_st_header_past_eof),
        cmocka_unit_test(test_st_header_absurd),
        cmocka_unit_test(test_st_header_not_json),
        cmocka_unit_test(test_st_header_trailing_garbage),
        cmocka_unit_test(test_st_header_not_object),
        cmocka_unit_test(test_st_header_bad_utf8),
        cmocka_unit_test(test_st_entry_not_object),
        cmocka_unit_test(test_st_unknown_dtype),
        cmocka_unit_test(test_st_missing_dtype),
        cmocka_unit_test(test_st_shape_not_array),
        cmocka_unit_test(test_st_shape_negative),
        cmocka_unit_test(test_st_shape_fraction),
        cmocka_unit_test(test_st_shape_too_many_dims),
        cmocka_unit_test(test_st_shape_overflow),
        cmocka_unit_test(test_st_offsets_not_pair),
        cmocka_unit_test(test_st_offsets_reversed),
        cmocka_unit_test(test_st_offsets_past_end),
        cmocka_unit_test(test_st_offsets_size_mismatch),
        cmocka_unit_test(test_st_overlap),
        cmocka_unit_test(test_st_duplicate_name),
        cmocka_unit_test(test_st_metadata_not_string),
        cmocka_unit_test(test_st_metadata_not_object),
        cmocka_unit_test(test_npy_i4_roundtrip),
        cmocka_unit_test(test_npy_f4_roundtrip),
        cmocka_unit_test(test_npy_scalar_and_empty),
        cmocka_unit_test(test_npy_int_descrs),
        cmocka_unit_test(test_npy_float_descrs),
        cmocka_unit_test(test_npy_header_variants),
        cmocka_unit_test(test_npy_bad_magic),
        cmocka_unit_test(test_npy_bad_version),
        cmocka_unit_test(test_npy_truncated_header),
        cmocka_unit_test(test_npy_truncated_data),
        cmocka_unit_test(test_npy_size_mismatch),
        cmocka_unit_test(test_npy_unknown_descr),
        cmocka_unit_test(test_npy_wrong_kind),
        cmocka_unit_test(test_npy_fortran_order),
        cmocka_unit_test(test_npy_out_of_int32_range),
        cmocka_unit_test(test_npy_bad_dict),
        cmocka_unit_test(test_npy_files_not_there),
        cmocka_unit_test(test_npy_write_failures),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
