/* jsonout.h - printing JSON by hand (trm's one-line reports) without
 * producing invalid JSON: NaN and infinities, which JSON cannot spell,
 * become null, and strings are escaped. Also the one check JSON input
 * needs before cJSON: a \u0000 escape, which cJSON decodes into a C string
 * that then silently ends early. */
#include <stddef.h>
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

/* Offset of the first \u0000 escape inside a string of the JSON text
 * txt[0, len), or of a NUL byte anywhere, or len when there is none (an
 * escaped backslash followed by "u0000" is not one). */
size_t json_nul_escape_at(const char *txt, size_t len);

#endif /* TRM_IO_JSONOUT_H */
