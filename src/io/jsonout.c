/* jsonout.c - JSON numbers and strings for hand-printed reports. */
#include "io/jsonout.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

json_num json_number(double v, int digits) {
    json_num j;
    if (isfinite(v)) snprintf(j.s, sizeof j.s, "%.*g", digits, v);
    else snprintf(j.s, sizeof j.s, "null");
    return j;
}

void json_put_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

size_t json_nul_escape_at(const char *txt, size_t len) {
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        if (txt[i] == 0) return i; /* a raw NUL cuts a string short the same way */
        if (!in_string) {
            in_string = txt[i] == '"';
        } else if (txt[i] == '"') {
            in_string = false;
        } else if (txt[i] == '\\' && i + 1 < len) {
            if (txt[i + 1] == 'u' && len - i >= 6 && !memcmp(txt + i + 2, "0000", 4)) return i;
            i++; /* the escaped character, a quote or backslash included */
        }
    }
    return len;
}
