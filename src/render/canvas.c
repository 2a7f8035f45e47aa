/* canvas.c - a small RGB raster: rectangles, thick lines, discs, bitmap
 * text, and saving as PNG with libpng. Files (PNG and SVG alike) are
 * written to "<path>.tmp.<pid>" and renamed (io/fileio.h), so a reader
 * never sees half a picture and a planted link is never written through. */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/fileio.h"
#include "render/internal.h"

canvas *canvas_new(int w, int h, rgb8 bg) {
    if (w <= 0 || h <= 0 || (size_t)w * (size_t)h > ((size_t)1 << 26)) return NULL;
    canvas *c = malloc(sizeof *c);
    if (!c) return NULL;
    c->w = w, c->h = h;
    c->px = malloc((size_t)w * h * 3);
    if (!c->px) {
        free(c);
        return NULL;
    }
    for (size_t i = 0; i < (size_t)w * h; i++) {
        c->px[3 * i] = bg.r, c->px[3 * i + 1] = bg.g, c->px[3 * i + 2] = bg.b;
    }
    return c;
}

void canvas_free(canvas *c) {
    if (!c) return;
    free(c->px);
    free(c);
}

static inline void put(canvas *c, int x, int y, rgb8 col) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    uint8_t *p = c->px + ((size_t)y * c->w + x) * 3;
    p[0] = col.r, p[1] = col.g, p[2] = col.b;
}

void canvas_fill(canvas *c, int x, int y, int w, int h, rgb8 col) {
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int x1 = x + w > c->w ? c->w : x + w, y1 = y + h > c->h ? c->h : y + h;
    for (int j = y0; j < y1; j++)
        for (int i = x0; i < x1; i++) put(c, i, j, col);
}

void canvas_frame(canvas *c, int x, int y, int w, int h, int thick, rgb8 col) {
    canvas_fill(c, x, y, w, thick, col);
    canvas_fill(c, x, y + h - thick, w, thick, col);
    canvas_fill(c, x, y, thick, h, col);
    canvas_fill(c, x + w - thick, y, thick, h, col);
}

/* Bresenham over rounded endpoints; width > 1 stamps a square of that
 * side at each step, enough for plot lines without antialiasing. */
void canvas_line(canvas *c, double fx0, double fy0, double fx1, double fy1, int width, rgb8 col) {
    if (!isfinite(fx0) || !isfinite(fy0) || !isfinite(fx1) || !isfinite(fy1)) return;
    int x0 = (int)lround(fx0), y0 = (int)lround(fy0), x1 = (int)lround(fx1), y1 = (int)lround(fy1);
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int e = dx + dy, lo = -(width - 1) / 2;
    for (;;) {
        if (width <= 1) put(c, x0, y0, col);
        else canvas_fill(c, x0 + lo, y0 + lo, width, width, col);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * e;
        if (e2 >= dy) e += dy, x0 += sx;
        if (e2 <= dx) e += dx, y0 += sy;
    }
}

void canvas_disc(canvas *c, double cx, double cy, double radius, rgb8 col) {
    int r = (int)ceil(radius), x = (int)lround(cx), y = (int)lround(cy);
    for (int j = -r; j <= r; j++)
        for (int i = -r; i <= r; i++)
            if (i * i + j * j <= radius * radius + 0.5) put(c, x + i, y + j, col);
}

void canvas_text(canvas *c, int x, int y, const char *s, int scale, rgb8 col) {
    for (; *s; s++, x += FONT_ADVANCE * scale)
        for (int r = 0; r < FONT_H; r++) {
            unsigned bits = font_row(*s, r);
            for (int k = 0; k < FONT_W; k++)
                if (bits >> (FONT_W - 1 - k) & 1) canvas_fill(c, x + k * scale, y + r * scale, scale, scale, col);
        }
}

/* libpng reports errors by longjmp; the message is kept for trm_err. */
typedef struct {
    char msg[200];
} png_failure;

static void on_png_error(png_structp png, png_const_charp msg) {
    png_failure *pf = png_get_error_ptr(png);
    snprintf(pf->msg, sizeof pf->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

/* png and info are set before setjmp and never assigned after it, so
 * their values are still valid when an error jumps back. */
static bool write_png_stream(const canvas *c, FILE *f, png_failure *pf) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, pf, on_png_error, on_png_warning);
    if (!png) {
        snprintf(pf->msg, sizeof pf->msg, "out of memory");
        return false;
    }
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info ? &info : NULL);
        if (!pf->msg[0]) snprintf(pf->msg, sizeof pf->msg, "out of memory");
        return false;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < c->h; y++) png_write_row(png, c->px + (size_t)y * c->w * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return true;
}

int canvas_write_png(const canvas *c, const char *path, trm_err *err) {
    char tmp[IO_TMP_PATH];
    FILE *f = io_tmp_fopen(path, tmp, sizeof tmp, err);
    if (!f) return -1;
    png_failure pf = {{0}};
    bool ok = write_png_stream(c, f, &pf);
    if (io_tmp_commit(f, tmp, path, ok, err)) {
        if (!ok) trm_errf(err, "%s: cannot write PNG: %s", path, pf.msg);
        return -1;
    }
    return 0;
}
