/* jsonout.h - printing JSON by hand (trm's one-line reports) without
 * producing invalid JSON: NaN and infinities, which JSON cannot spell,
 * become null, and strings are escaped. */
#ifndef TRM_IO_JSONOUT_H
#define TRM_IO_JSONOUT_H

#include <stdio.h>

/* A number's JSON text, by value so it can sit in a printf argument list. */
typedef struct {
    char s[40];
} json_num;

/* v with printf's "%.<digits>g", or "null" when v is NaN or infinite. */
json_num json_number(double v, int digits);
/* The common case: 6 significant digits. */
#define JSON_NUM(v) (json_number((v), 6).s)

/* Writes s as a quoted JSON string: quotes, backslashes and control
 * characters escaped, other bytes as they are. */
void json_put_string(FILE *f, const char *s);

#endif /* TRM_IO_JSONOUT_H */
