/* util.h - small utilities every part of trm shares: strict parsing of
 * numbers given as text, bounded line reading, the memory check before a
 * large allocation. (Issue 12 grows this into the one utility module.)
 * Functions that can fail follow trm.h: 0, or -1 with a one-line message
 * in a caller-provided trm_err. */
#ifndef TRM_CORE_UTIL_H
#define TRM_CORE_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "trm.h"

/* A decimal integer in [lo, hi], the whole string: no sign-less junk, no
 * leading blanks, no trailing text, no wrap-around. name (e.g. "--batch")
 * starts the message: "--batch: expected an integer in 1..65536, got
 * '4294967297'". *out is untouched on failure. */
int util_parse_ll(const char *name, const char *s, long long lo, long long hi, long long *out, trm_err *err);
/* The same for an int. */
int util_parse_int(const char *name, const char *s, int lo, int hi, int *out, trm_err *err);
/* A non-negative decimal integer up to UINT64_MAX (seeds). */
int util_parse_u64(const char *name, const char *s, uint64_t *out, trm_err *err);
/* A finite decimal number in [lo, hi] (lo excluded when lo_open). */
int util_parse_double(const char *name, const char *s, double lo, double hi, bool lo_open, double *out,
                     trm_err *err);

/* Seconds on the monotonic clock (CLOCK_MONOTONIC), for durations and
 * rates; unaffected by changes of the wall clock. */
double util_now_s(void);

/* Longest line the text readers take by default (bytes, newline excluded):
 * puzzle lines are short; this stops a binary file or an endless line from
 * being read into memory whole. */
#define TRM_LINE_MAX 65536

/* Reads one line of f into buf (up to cap - 1 bytes; the newline is
 * dropped, a '\r' before it kept). 1 = a line, 0 = end of file, -1 = a
 * line longer than cap - 1 bytes, a NUL byte (binary data) or a read
 * error, with err saying which (the caller adds file:line). */
int util_read_line(FILE *f, char *buf, size_t cap, trm_err *err);

/* Opens path read-only (O_CLOEXEC) and requires a regular file. The open
 * itself does not block (O_NONBLOCK, cleared again afterwards), so a FIFO
 * is refused at once. *size (may be NULL) gets the file's size. Returns
 * the descriptor, or -1 with "<path>: cannot open: ..." or "<path>: not a
 * regular file (a FIFO|a directory|a device or socket)". */
int util_open_regular(const char *path, size_t *size, trm_err *err);
/* fd (open) must be a regular file: 0, or closes fd and fails with the
 * messages above. *size (may be NULL) gets its size. */
int util_require_regular(int fd, const char *path, size_t *size, trm_err *err);
/* The same as a stdio stream (mode "rb"). */
FILE *util_fopen_regular(const char *path, trm_err *err);

/* Opens path for reading text: "-" is stdin, anything else must be a
 * regular file (util_fopen_regular). NULL with the message on failure. */
FILE *util_open_text(const char *path, trm_err *err);

/* Bytes of memory available to a new allocation now: MemAvailable of
 * /proc/meminfo, else sysconf's available pages; 0 when unknown. */
uint64_t util_mem_available(void);

/* Whether `need` bytes (an estimate, e.g. trm info's) fit in the
 * available memory: 0, or -1 with "WHAT needs about N GB of memory
 * (estimate) but M GB is available; ..." in err. Passes when the
 * environment has TRM_NO_MEMCHECK=1 or the available memory is unknown. */
int util_mem_check(double need, const char *what, trm_err *err);

#endif
