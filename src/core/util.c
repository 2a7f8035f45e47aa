/* util.c - small shared utilities (see util.h). */
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ numbers */

/* strtoll and strtod skip leading blanks and accept what follows a
 * number only when asked: the text must start the number itself. */
static bool starts_number(const char *s) {
    return s && (isdigit((unsigned char)s[0]) || ((s[0] == '-' || s[0] == '+') && isdigit((unsigned char)s[1])) ||
                 (s[0] == '.' && isdigit((unsigned char)s[1])) ||
                 ((s[0] == '-' || s[0] == '+') && s[1] == '.' && isdigit((unsigned char)s[2])));
}

static int range_error(const char *name, const char *s, long long lo, long long hi, trm_err *err) {
    if (hi == LLONG_MAX) return trm_errf(err, "%s: expected an integer >= %lld, got '%s'", name, lo, s ? s : "");
    return trm_errf(err, "%s: expected an integer in %lld..%lld, got '%s'", name, lo, hi, s ? s : "");
}

int util_parse_ll(const char *name, const char *s, long long lo, long long hi, long long *out, trm_err *err) {
    if (!s || !(isdigit((unsigned char)s[0]) || ((s[0] == '-' || s[0] == '+') && isdigit((unsigned char)s[1]))))
        return range_error(name, s, lo, hi, err);
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || v < lo || v > hi) return range_error(name, s, lo, hi, err);
    *out = v;
    return 0;
}

int util_parse_int(const char *name, const char *s, int lo, int hi, int *out, trm_err *err) {
    long long v;
    if (util_parse_ll(name, s, lo, hi, &v, err)) return -1;
    *out = (int)v;
    return 0;
}

int util_parse_u64(const char *name, const char *s, uint64_t *out, trm_err *err) {
    /* no sign: strtoull would negate "-1" into 2^64 - 1 silently */
    if (!s || !isdigit((unsigned char)s[0]))
        return trm_errf(err, "%s: expected an integer in 0..%llu, got '%s'", name, (unsigned long long)UINT64_MAX,
                        s ? s : "");
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno)
        return trm_errf(err, "%s: expected an integer in 0..%llu, got '%s'", name, (unsigned long long)UINT64_MAX, s);
    *out = v;
    return 0;
}

int util_parse_double(const char *name, const char *s, double lo, double hi, bool lo_open, double *out,
                     trm_err *err) {
    char *end = NULL;
    errno = 0;
    double v = starts_number(s) ? strtod(s, &end) : NAN;
    if (!end || *end || errno || !isfinite(v) || v < lo || v > hi || (lo_open && v == lo))
        return trm_errf(err, "%s: expected a number %s %g and <= %g, got '%s'", name, lo_open ? ">" : ">=", lo, hi,
                        s ? s : "");
    *out = v;
    return 0;
}

double util_now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ------------------------------------------------------------ text files */

int util_read_line(FILE *f, char *buf, size_t cap, trm_err *err) {
    size_t n = 0;
    int ch;
    while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
        if (ch == 0) return trm_errf(err, "NUL byte at column %zu (binary data, not a text line)", n + 1);
        if (n + 1 >= cap) return trm_errf(err, "line longer than %zu bytes", cap - 1);
        buf[n++] = (char)ch;
    }
    buf[n] = 0;
    if (ch == EOF && ferror(f)) return trm_errf(err, "read error: %s", strerror(errno));
    return ch == EOF && n == 0 ? 0 : 1;
}

/* ------------------------------------------------------------ opening files */

static const char *kind_of(mode_t m) {
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISDIR(m)) return "a directory";
    return "a device or socket";
}

/* fd must be a regular file; closes it and fails otherwise. */
int util_require_regular(int fd, const char *path, size_t *size, trm_err *err) {
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return trm_errf(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        if (S_ISDIR(st.st_mode)) return trm_errf(err, "%s: is a directory (expected a regular file)", path);
        return trm_errf(err, "%s: not a regular file (%s)", path, kind_of(st.st_mode));
    }
    if (size) *size = (size_t)st.st_size;
    return 0;
}

int util_open_regular(const char *path, size_t *size, trm_err *err) {
    /* O_NONBLOCK: open() of a FIFO without a writer would otherwise wait */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return trm_errf(err, "%s: cannot open: %s", path, strerror(errno));
    if (util_require_regular(fd, path, size, err)) return -1;
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

FILE *util_fopen_regular(const char *path, trm_err *err) {
    int fd = util_open_regular(path, NULL, err);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        trm_errf(err, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

FILE *util_open_text(const char *path, trm_err *err) {
    if (!strcmp(path, "-")) return stdin;
    return util_fopen_regular(path, err);
}

/* ------------------------------------------------------------ memory */

uint64_t util_mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
                fclose(f);
                return (uint64_t)kb * 1024;
            }
        fclose(f);
    }
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

int util_mem_check(double need, const char *what, trm_err *err) {
    const char *off = getenv("TRM_NO_MEMCHECK");
    if (off && !strcmp(off, "1")) return 0;
    uint64_t avail = util_mem_available();
    if (avail == 0 || need <= (double)avail) return 0;
    return trm_errf(err, "%s needs about %.1f GB of memory (estimate, as trm info --batch prints) but %.1f GB is "
                    "available; use a smaller batch, or --ignore-memory-check (or TRM_NO_MEMCHECK=1) to try anyway",
                    what, need / 1e9, (double)avail / 1e9);
}
