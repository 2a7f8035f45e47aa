/* err.c - one-line error messages carried back to the caller. */
#include <stdarg.h>
#include <stdio.h>

#include "trm.h"

int trm_errf(trm_err *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}
