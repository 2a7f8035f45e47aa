/* test_render.c - pictures: boards as text (plain and ANSI colour) and as
 * PNG (read back with libpng: size, cell colours, red frames on wrong
 * cells), cropped ARC boards of different sizes, 30x30 mazes side by
 * side, training curves from metrics.jsonl as SVG and PNG, with
 * file:line errors for bad records, and the comparison of several runs
 * against training FLOPs (trm plot --compare). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <png.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "render/render.h"
#include "testutil.h"

/* ---------------------------------------------------------------- helpers */

TU_TMP_DIR_GROUP(group_setup, group_teardown, "/tmp/trm_render_XXXXXX")

/* The whole file as a NUL-terminated string; caller frees. */
static char *slurp(const char *path) {
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    rewind(fp);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
    s[n] = 0;
    fclose(fp);
    return s;
}

static int count_of(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* A decoded PNG as 8-bit RGB. */
typedef struct {
    int w, h;
    uint8_t *px;
} image;

static image read_png(const char *path) {
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&pi, path)) fail_msg("%s: %s", path, pi.message);
    pi.format = PNG_FORMAT_RGB;
    image im = {(int)pi.width, (int)pi.height, malloc(PNG_IMAGE_SIZE(pi))};
    assert_non_null(im.px);
    if (!png_image_finish_read(&pi, NULL, im.px, 0, NULL)) fail_msg("%s: %s", path, pi.message);
    return im;
}

static void assert_pixel(const image *im, int x, int y, int r, int g, int b) {
    assert_true(x >= 0 && y >= 0 && x < im->w && y < im->h);
    const uint8_t *p = im->px + ((size_t)y * im->w + x) * 3;
    if (p[0] != r || p[1] != g || p[2] != b)
        fail_msg("pixel (%d, %d) is (%d, %d, %d); expected (%d, %d, %d)", x, y, p[0], p[1], p[2], r, g, b);
}

static bool has_color(const image *im, int r, int g, int b) {
    for (size_t i = 0; i < (size_t)im->w * im->h; i++)
        if (im->px[3 * i] == r && im->px[3 * i + 1] == g && im->px[3 * i + 2] == b) return true;
    return false;
}

/* text_render into a string (caller frees). */
static char *render_text(const trm_task *t, int seq_len, const int32_t *q, const int32_t *truth,
                         const trm_board_view *b, int n, bool color) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    render_board_text(m, t, seq_len, q, truth, b, n, color);
    assert_int_equal(fclose(m), 0);
    return buf;
}

/* A 4x4 Sudoku, its answer, and a prediction wrong in cells 1 and 6. */
typedef struct {
    int32_t q[16], a[16], p[16];
    trm_board_view b[3];
} sudoku4_case;

static void sudoku4_setup(sudoku4_case *c) {
    const trm_task *t = trm_task_by_name("sudoku4");
    assert_non_null(t);
    bool has;
    trm_err e;
    assert_int_equal(t->parse("1..4..........21,1234341221434321", 16, c->q, c->a, &has, &e), 0);
    assert_true(has);
    memcpy(c->p, c->a, sizeof c->p);
    c->p[1] = 5; /* 4 where 2 belongs */
    c->p[6] = 5; /* 4 where 1 belongs */
    c->b[0] = (trm_board_view){c->q, "input"};
    c->b[1] = (trm_board_view){c->p, "prediction"};
    c->b[2] = (trm_board_view){c->a, "truth"};
}

/* ---------------------------------------------------------------- text */

static void test_text_plain_sudoku4(void **state) {
    (void)state;
    sudoku4_case c;
    sudoku4_setup(&c);
    char *s = render_text(trm_task_by_name("sudoku4"), 16, c.q, c.a, c.b, 3, false);
    const char *want =
        "input      prediction   truth\n"
        " 1 . . 4    1*4 3 4      1 2 3 4\n"
        " . . . .    3 4*4 2      3 4 1 2\n"
        " . . . .    2 1 4 3      2 1 4 3\n"
        " . . 2 1    4 3 2 1      4 3 2 1\n";
    assert_string_equal(s, want);
    assert_null(strchr(s, '\033'));
    free(s);
}

static void test_text_color_sudoku4(void **state) {
    (void)state;
    sudoku4_case c;
    sudoku4_setup(&c);
    char *s = render_text(trm_task_by_name("sudoku4"), 16, c.q, c.a, c.b, 3, true);
    /* the styles: givens grey, filled cells light blue, blanks white */
    assert_contains(s, "\033[0;48;2;215;215;215;38;2;20;20;20m 1");
    assert_contains(s, "\033[0;48;2;225;240;255;");
    assert_contains(s, "\033[0;48;2;255;255;255;");
    /* the wrong cells: bold red '*' on the cell's fill */
    assert_int_equal(count_of(s, "1;38;2;220;0;0m*4"), 2);
    assert_int_equal(count_of(s, "\033[0m"), 3 * 4); /* each board row ends its colours */
    assert_int_equal(count_of(s, "\n"), 5);
    free(s);
}

/* 9x9: no truth given means no marks; the digits all show. */
static void test_text_sudoku9_no_truth(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("sudoku");
    assert_non_null(t);
    int32_t q[81], a[81];
    bool has;
    trm_err e;
    const char *line = "........8..3...4...9..2..6.....79.......612...6.5.2.7...8...5...1.....2.4.5.....3,"
                       "621943758783615492594728361142879635357461289869532174238197546916354827475286913";
    assert_int_equal(t->parse(line, 81, q, a, &has, &e), 0);
    trm_board_view b[2] = {{q, "puzzle"}, {a, "answer"}};
    char *s = render_text(t, 81, q, NULL, b, 2, false);
    assert_null(strchr(s, '*'));
    assert_contains(s, "puzzle               answer\n");
    assert_contains(s, " . . . . . . . . 8    6 2 1 9 4 3 7 5 8\n");
    assert_contains(s, " 4 . 5 . . . . . 3    4 7 5 2 8 6 9 1 3\n");
    free(s);
}

/* ---------------------------------------------------------------- PNG */

/* Layout of render_png for 4x4 Sudoku (board_png.c): 10 px margin, 20 px
 * caption band, 20 px cells + 1 px grid (board 85 px), captions at 12 px
 * per character ("prediction" 118 px wide), 20 px between panels. */
enum { M = 10, BAND = 20, PITCH = 21, P1 = 10, P2 = 10 + 85 + 20, P3 = P2 + 118 + 20 };

static int cell_x(int panel_x, int c) { return panel_x + 1 + c * PITCH; }
static int cell_y(int r) { return M + BAND + 1 + r * PITCH; }

static void test_png_sudoku4(void **state) {
    (void)state;
    sudoku4_case c;
    sudoku4_setup(&c);
    trm_err e;
    const char *path = tpath("s4.png");
    assert_int_equal(render_board_png(path, trm_task_by_name("sudoku4"), 16, c.q, c.a, c.b, 3, &e), 0);
    image im = read_png(path);
    assert_int_equal(im.w, P3 + 85 + M);
    assert_int_equal(im.h, M + BAND + 85 + M);
    assert_pixel(&im, 0, 0, 255, 255, 255);
    /* input: cell (0,0) is a given (grey), (0,1) a blank (white) */
    assert_pixel(&im, cell_x(P1, 0) + 2, cell_y(0) + 2, 215, 215, 215);
    assert_pixel(&im, cell_x(P1, 1) + 2, cell_y(0) + 2, 255, 255, 255);
    /* grid lines around it */
    assert_pixel(&im, P1, cell_y(0) + 5, 96, 96, 96);
    assert_pixel(&im, cell_x(P1, 1) - 1, cell_y(0) + 5, 96, 96, 96);
    /* prediction: (0,1) wrong -> 2 px red frame on its light-blue fill */
    int x = cell_x(P2, 1), y = cell_y(0);
    assert_pixel(&im, x, y, 220, 0, 0);
    assert_pixel(&im, x + 1, y + 10, 220, 0, 0);
    assert_pixel(&im, x + 19, y + 19, 220, 0, 0);
    assert_pixel(&im, x + 2, y + 2, 225, 240, 255);
    /* (0,2) right: no frame */
    assert_pixel(&im, cell_x(P2, 2), cell_y(0), 225, 240, 255);
    /* (1,2) wrong too, nothing in the truth is */
    assert_pixel(&im, cell_x(P2, 2), cell_y(1), 220, 0, 0);
    assert_pixel(&im, cell_x(P3, 1), cell_y(0), 225, 240, 255);
    /* the digit 1 of the input's first cell: a dark vertical stroke in
     * the middle column of the 10x14 glyph at (5, 3) in the cell */
    assert_pixel(&im, cell_x(P1, 0) + 5 + 2 * 2, cell_y(0) + 3 + 2 * 3, 20, 20, 20);
    /* captions are drawn in ink */
    assert_true(has_color(&im, 40, 40, 40));
    free(im.px);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "s4.png.tmp.%ld", (long)getpid());
    assert_int_equal(access(tpath(tmp), F_OK), -1);
}

static void test_png_sudoku9_size(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("sudoku");
    int32_t q[81];
    bool has;
    trm_err e;
    assert_int_equal(t->parse("........8..3...4...9..2..6.....79.......612...6.5.2.7...8...5...1.....2.4.5.....3",
                              81, q, NULL, &has, &e), 0);
    trm_board_view b[1] = {{q, "a puzzle"}};
    const char *path = tpath("s9.png");
    assert_int_equal(render_board_png(path, t, 81, NULL, NULL, b, 1, &e), 0);
    image im = read_png(path);
    assert_int_equal(im.w, M + 9 * PITCH + 1 + M);
    assert_int_equal(im.h, M + BAND + 9 * PITCH + 1 + M);
    assert_false(has_color(&im, 220, 0, 0)); /* no truth, no frames */
    free(im.px);
}

static void test_png_errors_name_file(void **state) {
    (void)state;
    sudoku4_case c;
    sudoku4_setup(&c);
    trm_err e;
    const char *path = tpath("no/such/dir/x.png");
    assert_int_equal(render_board_png(path, trm_task_by_name("sudoku4"), 16, c.q, c.a, c.b, 3, &e), -1);
    assert_contains(e.msg, path);
    /* a length the task has no board for */
    assert_int_equal(render_board_png(tpath("y.png"), trm_task_by_name("sudoku4"), 15, c.q, c.a, c.b, 3, &e), -1);
    assert_contains(e.msg, "15");
    assert_int_equal(access(tpath("y.png"), F_OK), -1);
}

/* ---------------------------------------------------------------- other tasks */

/* Tasks from other parts of the project: skipped with a TAP comment, not
 * silently, when a build lacks them. */
static const trm_task *need_task(const char *name) {
    const trm_task *t = trm_task_by_name(name);
    if (!t) printf("# SKIP %s: task \"%s\" is not registered in this build\n", name, name);
    return t;
}

/* 30x30 mazes side by side fit in 186 columns (3 x 60 + 2 gaps), and a
 * missed path cell is marked. */
static void test_maze_text_30(void **state) {
    (void)state;
    const trm_task *t = need_task("maze");
    if (!t) return;
    enum { N = 30, L = N * N };
    char q[L + 1], a[L + 1];
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++) {
            bool wall = r == 0 || c == 0 || r == N - 1 || c == N - 1 || (r % 2 == 0 && c != N - 2);
            q[r * N + c] = a[r * N + c] = wall ? '#' : ' ';
        }
    q[1 * N + 1] = a[1 * N + 1] = 'S';
    q[1 * N + 3] = a[1 * N + 3] = 'G';
    a[1 * N + 2] = 'o';
    q[L] = a[L] = 0;
    char line[2 * L + 2];
    snprintf(line, sizeof line, "%s,%s", q, a);
    int32_t qt[L], at[L], pt[L];
    bool has;
    trm_err e;
    if (t->parse(line, L, qt, at, &has, &e)) fail_msg("%s", e.msg);
    memcpy(pt, qt, sizeof pt); /* the model left the path out */
    trm_board_view b[3] = {{qt, "input"}, {pt, "prediction"}, {at, "truth"}};
    char *s = render_text(t, L, qt, at, b, 3, false);
    int lines = 0;
    for (char *p = s, *nl; (nl = strchr(p, '\n')); p = nl + 1, lines++) assert_true(nl - p <= 3 * 2 * N + 2 * 3);
    assert_int_equal(lines, N + 1);
    assert_int_equal(count_of(s, "*"), 1);
    free(s);
    const char *path = tpath("maze.png");
    assert_int_equal(render_board_png(path, t, L, qt, at, b, 3, &e), 0);
    image im = read_png(path);
    assert_int_equal(im.h, M + BAND + N * 13 + 1 + M); /* 12 px cells for 30x30 */
    assert_true(has_color(&im, 220, 0, 0));
    free(im.px);
}

/* ARC: boards are cropped at EOS, so a prediction of the wrong size
 * shows at its own size, with the size in the caption. */
static void arc_tokens(int rows, int cols, int color, int32_t *tok) {
    for (int i = 0; i < 900; i++) tok[i] = 0; /* PAD */
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) tok[r * 30 + c] = 2 + (color + r + c) % 10;
    for (int r = 0; r < rows; r++)
        if (cols < 30) tok[r * 30 + cols] = 1; /* EOS */
    for (int c = 0; c < cols && rows < 30; c++) tok[rows * 30 + c] = 1;
}

static void test_arc_crop(void **state) {
    (void)state;
    const trm_task *t = need_task("arc");
    if (!t) return;
    static int32_t in[900], pred[900], truth[900];
    arc_tokens(2, 2, 0, in);
    arc_tokens(3, 2, 1, pred);
    arc_tokens(3, 4, 1, truth);
    trm_board_view b[3] = {{in, "input"}, {pred, "prediction"}, {truth, "truth"}};
    char *s = render_text(t, 900, in, truth, b, 3, false);
    assert_contains(s, "input 2x2   prediction 3x2   truth 3x4\n");
    assert_int_equal(count_of(s, "\n"), 4); /* caption + the 3 rows of the tallest */
    free(s);
    trm_err e;
    const char *path = tpath("arc.png");
    assert_int_equal(render_board_png(path, t, 900, in, truth, b, 3, &e), 0);
    image im = read_png(path);
    assert_int_equal(im.h, M + BAND + 3 * PITCH + 1 + M);
    free(im.px);
}

/* ---------------------------------------------------------------- plots */

static const char *METRICS =
    "{\"step\":10,\"lr\":0.001,\"lm_loss\":2.5,\"q_halt_loss\":0.7,\"accuracy\":0.2,\"exact_accuracy\":0}\n"
    "{\"step\":20,\"lr\":0.001,\"lm_loss\":1.0,\"q_halt_loss\":0.3,\"accuracy\":0.5,\"exact_accuracy\":0.1}\n"
    "\n"
    "{\"step\":20,\"eval\":{\"examples\":100,\"exact_accuracy\":0.05,\"accuracy\":0.45,\"lm_loss\":1.2,\"steps\":16}}\n"
    "{\"step\":30,\"lr\":0.001,\"lm_loss\":0.02,\"q_halt_loss\":0.05,\"accuracy\":0.9,\"exact_accuracy\":0.6}\n"
    "{\"step\":30,\"eval\":{\"examples\":100,\"exact_accuracy\":0.5,\"accuracy\":0.85,\"lm_loss\":0.1,\"steps\":16}}\n";

static const char *SERIES[] = {"train lm_loss", "train q_halt_loss", "eval lm_loss", "train accuracy",
                               "train exact_accuracy", "eval accuracy", "eval exact_accuracy"};

static void test_plot_svg(void **state) {
    (void)state;
    const char *in = tpath("m.jsonl"), *out = tpath("curves.svg");
    tu_write_text(in, METRICS);
    trm_err e;
    assert_int_equal(plot_metrics(in, out, &e), 0);
    char *s = slurp(out);
    assert_true(!strncmp(s, "<?xml", 5));
    assert_contains(s, "<svg xmlns=\"http://www.w3.org/2000/svg\"");
    assert_contains(s, "</svg>\n");
    assert_int_equal(count_of(s, "<polyline"), 7);
    for (int k = 0; k < 7; k++) {
        char attr[64];
        snprintf(attr, sizeof attr, "data-series=\"%s\"", SERIES[k]);
        assert_int_equal(count_of(s, attr), 1);
        snprintf(attr, sizeof attr, ">%s</text>", SERIES[k]);
        assert_int_equal(count_of(s, attr), 1); /* its legend entry */
    }
    /* losses span 125x: log axis with decade ticks */
    assert_contains(s, "loss (log scale)");
    assert_contains(s, ">0.01</text>");
    assert_contains(s, "<circle"); /* eval points */
    free(s);
}

static void test_plot_png(void **state) {
    (void)state;
    const char *in = tpath("m2.jsonl"), *out = tpath("curves.png");
    tu_write_text(in, METRICS);
    trm_err e;
    assert_int_equal(plot_metrics(in, out, &e), 0);
    image im = read_png(out);
    assert_int_equal(im.w, 1920);
    assert_int_equal(im.h, 1200);
    assert_true(has_color(&im, 31, 119, 180));  /* train lm_loss / accuracy */
    assert_true(has_color(&im, 214, 39, 40));   /* eval exact_accuracy */
    free(im.px);
}

/* printf writes NaN as bare nan, which is not JSON: such values are gaps. */
static void test_plot_nonfinite(void **state) {
    (void)state;
    const char *in = tpath("nan.jsonl"), *out = tpath("nan.svg");
    tu_write_text(in, "{\"step\":1,\"lm_loss\":nan,\"q_halt_loss\":-nan,\"accuracy\":0.5,\"exact_accuracy\":inf}\n"
                   "{\"step\":2,\"lm_loss\":1.5,\"q_halt_loss\":0.5,\"accuracy\":0.6,\"exact_accuracy\":0,\"note\":\"nan\"}\n");
    trm_err e;
    if (plot_metrics(in, out, &e)) fail_msg("%s", e.msg);
    char *s = slurp(out);
    assert_contains(s, "data-series=\"train lm_loss\" points=\"");
    assert_null(strstr(s, "nan,"));
    assert_null(strstr(s, "inf"));
    free(s);
}

/* The x coordinates of one series' polyline in an SVG; returns how many. */
static int polyline_xs(const char *svg, const char *series, double *xs, int max) {
    char key[96];
    snprintf(key, sizeof key, "data-series=\"%s\" points=\"", series);
    const char *p = strstr(svg, key);
    assert_non_null(p);
    p += strlen(key);
    int n = 0;
    while (*p != '"' && n < max) {
        char *end;
        xs[n++] = strtod(p, &end);
        assert_true(*end == ',');
        p = strpbrk(end, " \"");
        assert_non_null(p);
        if (*p == ' ') p++;
    }
    return n;
}

/* A run resumed after a kill logs steps 20 and 30 again: one point per
 * step, in step order. */
static void test_plot_resumed_log(void **state) {
    (void)state;
    const char *in = tpath("resumed.jsonl"), *out = tpath("resumed.svg");
    tu_write_text(in, "{\"step\":10,\"lm_loss\":3}\n{\"step\":20,\"lm_loss\":2}\n{\"step\":30,\"lm_loss\":1.5}\n"
                   "{\"step\":20,\"lm_loss\":2.1}\n{\"step\":30,\"lm_loss\":1.4}\n{\"step\":40,\"lm_loss\":1}\n");
    trm_err e;
    if (plot_metrics(in, out, &e)) fail_msg("%s", e.msg);
    char *s = slurp(out);
    double xs[16];
    int n = polyline_xs(s, "train lm_loss", xs, 16);
    assert_int_equal(n, 4);
    for (int i = 1; i < n; i++) assert_true(xs[i] > xs[i - 1]);
    assert_int_equal(count_of(s, "<polyline"), 1); /* the other series are empty */
    free(s);
}

static void expect_error(const char *name, const char *text, const char *want) {
    const char *in = tpath(name), *out = tpath("bad.svg");
    tu_write_text(in, text);
    trm_err e;
    assert_int_equal(plot_metrics(in, out, &e), -1);
    char where[256];
    snprintf(where, sizeof where, "%s%s", in, want);
    assert_contains(e.msg, where);
    assert_null(strchr(e.msg, '\n'));
    assert_int_equal(access(out, F_OK), -1);
}

static void test_plot_errors(void **state) {
    (void)state;
    expect_error("b1.jsonl", "{\"step\":1,\"lm_loss\":1}\n\n{\"step\":2,\"lm_loss\":\n", ":3: not valid JSON");
    expect_error("b2.jsonl", "{\"step\":1,\"lm_loss\":1}\n[1,2]\n", ":2: not a JSON object");
    expect_error("b3.jsonl", "{\"lm_loss\":1}\n", ":1: record has no numeric \"step\"");
    expect_error("b4.jsonl", "{\"step\":1,\"lm_loss\":\"low\"}\n", ":1: \"lm_loss\" is not a number");
    expect_error("b5.jsonl", "{\"step\":1,\"eval\":3}\n", ":1: \"eval\" is not an object");
    expect_error("b6.jsonl", "\n\n", ": no train or eval records");
    trm_err e;
    assert_int_equal(plot_metrics(tpath("absent.jsonl"), tpath("x.svg"), &e), -1);
    assert_contains(e.msg, "absent.jsonl: cannot open");
    tu_write_text(tpath("ok.jsonl"), METRICS);
    assert_int_equal(plot_metrics(tpath("ok.jsonl"), tpath("x.jpg"), &e), -1);
    assert_contains(e.msg, "x.jpg: unknown picture format");
}

/* ---------------------------------------------------------------- comparison */

/* Three recipes of different cost: eval rows carry cumulative flops, the
 * train rows around them are there to be ignored. */
static const char *RUN_ALPHA =
    "{\"step\":10,\"lm_loss\":2.5,\"accuracy\":0.1,\"exact_accuracy\":0,\"flops\":1e12}\n"
    "{\"step\":10,\"eval\":{\"exact_accuracy\":0,\"accuracy\":0.2,\"lm_loss\":2},\"flops\":1e12}\n"
    "{\"step\":20,\"eval\":{\"exact_accuracy\":0.1,\"accuracy\":0.4,\"lm_loss\":1.5},\"flops\":4e12}\n";
static const char *RUN_BETA =
    "{\"step\":10,\"eval\":{\"exact_accuracy\":0,\"accuracy\":0.3,\"lm_loss\":1.8},\"flops\":2e12}\n"
    "{\"step\":20,\"eval\":{\"exact_accuracy\":0.2,\"accuracy\":0.5,\"lm_loss\":1.2},\"flops\":8e12}\n"
    "{\"step\":30,\"eval\":{\"exact_accuracy\":0.4,\"accuracy\":0.7,\"lm_loss\":0.9},\"flops\":2e13}\n";
static const char *RUN_GAMMA =
    "{\"step\":5,\"eval\":{\"exact_accuracy\":0,\"accuracy\":0.25,\"lm_loss\":1.9},\"flops\":5e12}\n";

/* RUN/metrics.jsonl under the temp dir; path gets the metrics file. */
static void write_run(const char *run, const char *text, char *path, size_t n) {
    char dir[PATH_MAX - 32]; /* room for /metrics.jsonl */
    snprintf(dir, sizeof dir, "%s", tpath(run));
    assert_true(mkdir(dir, 0755) == 0 || access(dir, F_OK) == 0);
    snprintf(path, n, "%s/metrics.jsonl", dir);
    tu_write_text(path, text);
}

static char run_paths[3][PATH_MAX];
static const char *three_runs[3] = {run_paths[0], run_paths[1], run_paths[2]};

static void write_three_runs(void) {
    write_run("alpha", RUN_ALPHA, run_paths[0], PATH_MAX);
    write_run("beta", RUN_BETA, run_paths[1], PATH_MAX);
    write_run("gamma", RUN_GAMMA, run_paths[2], PATH_MAX);
}

/* One series per run and panel, legend entries named after the run
 * folders, and a log FLOPs axis from 1e12 to 2e13 with 1-2-5 ticks. */
static void test_compare_svg_flops(void **state) {
    (void)state;
    write_three_runs();
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s", tpath("study.svg"));
    trm_err e;
    if (plot_compare_runs(three_runs, NULL, 3, TRM_PLOT_X_FLOPS, out, &e)) fail_msg("%s", e.msg);
    char *s = slurp(out);
    assert_contains(s, "</svg>\n");
    assert_int_equal(count_of(s, "<polyline"), 9);
    static const char *const runs[3] = {"alpha", "beta", "gamma"}, *const keys[3] = {"accuracy", "exact_accuracy", "lm_loss"};
    for (int r = 0; r < 3; r++) {
        char want[96];
        snprintf(want, sizeof want, ">%s</text>", runs[r]);
        assert_int_equal(count_of(s, want), 1); /* its legend entry */
        for (int k = 0; k < 3; k++) {
            snprintf(want, sizeof want, "data-series=\"%s: %s\"", runs[r], keys[k]);
            assert_int_equal(count_of(s, want), 1);
        }
    }
    assert_contains(s, "training FLOPs (log scale)");
    for (int i = 0; i < 5; i++) {
        static const char *const ticks[5] = {"1e12", "2e12", "5e12", "1e13", "2e13"};
        char want[32];
        snprintf(want, sizeof want, ">%s</text>", ticks[i]);
        assert_int_equal(count_of(s, want), 3); /* under each panel */
    }
    assert_null(strstr(s, "e+"));
    /* x is FLOPs: alpha starts at the left end (1e12), beta ends at the
     * right (2e13), and beta's 2e12 lies log10(2)/log10(20) of the way */
    double xs[8];
    assert_int_equal(polyline_xs(s, "alpha: accuracy", xs, 8), 2);
    assert_float_equal(xs[0], 70, 0.05);
    assert_int_equal(polyline_xs(s, "beta: lm_loss", xs, 8), 3);
    assert_float_equal(xs[2], 770, 0.05);
    assert_float_equal(xs[0], 70 + 700 * log10(2) / log10(20), 0.06);
    free(s);
}

/* --x step, labels given (escaped in SVG, cut short in the legend). */
static void test_compare_svg_step_labels(void **state) {
    (void)state;
    write_three_runs();
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s", tpath("steps.svg"));
    const char *labels[2] = {"adam <ref>", "muon lr 0.02 with a very long name"};
    trm_err e;
    if (plot_compare_runs(three_runs, labels, 2, TRM_PLOT_X_STEP, out, &e)) fail_msg("%s", e.msg);
    char *s = slurp(out);
    assert_int_equal(count_of(s, "<polyline"), 6);
    assert_contains(s, ">adam &lt;ref&gt;</text>");
    assert_contains(s, "data-series=\"adam &lt;ref&gt;: accuracy\"");
    assert_contains(s, ">muon lr 0.02 with a...</text>");
    assert_contains(s, "data-series=\"muon lr 0.02 with a very long name: lm_loss\"");
    assert_null(strstr(s, "alpha"));
    assert_null(strstr(s, "log scale"));
    assert_contains(s, ">step</text>");
    assert_contains(s, ">30</text>"); /* linear step ticks up to beta's last eval */
    double xs[8];
    assert_int_equal(polyline_xs(s, "adam &lt;ref&gt;: exact_accuracy", xs, 8), 2);
    assert_float_equal(xs[1], 70 + 700 * 20.0 / 30, 0.06);
    free(s);
}

static void test_compare_png(void **state) {
    (void)state;
    write_three_runs();
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s", tpath("study.png"));
    trm_err e;
    if (plot_compare_runs(three_runs, NULL, 3, TRM_PLOT_X_FLOPS, out, &e)) fail_msg("%s", e.msg);
    image im = read_png(out);
    assert_int_equal(im.w, 1920);
    assert_int_equal(im.h, 1600);
    assert_true(has_color(&im, 31, 119, 180)); /* run 1 */
    assert_true(has_color(&im, 255, 127, 14)); /* run 2 */
    assert_true(has_color(&im, 44, 160, 44));  /* run 3 */
    free(im.px);
}

/* The comparison fails with one line naming the run, and writes nothing. */
static void expect_compare_error(const char *const *paths, const char *const *labels, int n, trm_plot_x x,
                                 const char *out_name, const char *want) {
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s", tpath(out_name));
    trm_err e;
    assert_int_equal(plot_compare_runs(paths, labels, n, x, out, &e), -1);
    assert_contains(e.msg, want);
    assert_null(strchr(e.msg, '\n'));
    assert_int_equal(access(out, F_OK), -1);
}

static void test_compare_errors(void **state) {
    (void)state;
    write_three_runs();
    char noeval[PATH_MAX], noflops[PATH_MAX], want[PATH_MAX + 160];
    write_run("noeval", "{\"step\":10,\"lm_loss\":2.5,\"accuracy\":0.1,\"flops\":1e12}\n", noeval, PATH_MAX);
    write_run("noflops", "{\"step\":10,\"eval\":{\"accuracy\":0.2},\"flops\":1e12}\n"
                         "{\"step\":20,\"eval\":{\"accuracy\":0.3}}\n", noflops, PATH_MAX);
    const char *with_noeval[2] = {run_paths[0], noeval}, *with_noflops[2] = {run_paths[1], noflops};
    snprintf(want, sizeof want, "%s: no eval records", noeval);
    expect_compare_error(with_noeval, NULL, 2, TRM_PLOT_X_STEP, "e1.svg", want);
    snprintf(want, sizeof want, "%s: the eval record of step 20 has no \"flops\" field", noflops);
    expect_compare_error(with_noflops, NULL, 2, TRM_PLOT_X_FLOPS, "e2.svg", want);
    trm_err e; /* without flops, --x step still plots */
    if (plot_compare_runs(with_noflops, NULL, 2, TRM_PLOT_X_STEP, tpath("ok.svg"), &e)) fail_msg("%s", e.msg);
    const char *absent[1] = {tpath("absent/metrics.jsonl")};
    expect_compare_error(absent, NULL, 1, TRM_PLOT_X_FLOPS, "e3.svg", "absent/metrics.jsonl: cannot open");
    const char *nine[9];
    for (int i = 0; i < 9; i++) nine[i] = run_paths[i % 3];
    expect_compare_error(nine, NULL, 9, TRM_PLOT_X_FLOPS, "e4.svg", "cannot compare 9 runs: give 1 to 8");
    const char *empty[3] = {"a", "", "c"};
    expect_compare_error(three_runs, empty, 3, TRM_PLOT_X_FLOPS, "e5.svg", "beta/metrics.jsonl: empty label");
    expect_compare_error(three_runs, NULL, 3, TRM_PLOT_X_FLOPS, "e6.jpg", "e6.jpg: unknown picture format");
    /* eight runs is the most, and is fine */
    if (plot_compare_runs(nine, NULL, 8, TRM_PLOT_X_FLOPS, tpath("eight.svg"), &e)) fail_msg("%s", e.msg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_plain_sudoku4),
        cmocka_unit_test(test_text_color_sudoku4),
        cmocka_unit_test(test_text_sudoku9_no_truth),
        cmocka_unit_test(test_png_sudoku4),
        cmocka_unit_test(test_png_sudoku9_size),
        cmocka_unit_test(test_png_errors_name_file),
        cmocka_unit_test(test_maze_text_30),
        cmocka_unit_test(test_arc_crop),
        cmocka_unit_test(test_plot_svg),
        cmocka_unit_test(test_plot_png),
        cmocka_unit_test(test_plot_nonfinite),
        cmocka_unit_test(test_plot_resumed_log),
        cmocka_unit_test(test_plot_errors),
        cmocka_unit_test(test_compare_svg_flops),
        cmocka_unit_test(test_compare_svg_step_labels),
        cmocka_unit_test(test_compare_png),
        cmocka_unit_test(test_compare_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
