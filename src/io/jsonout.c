/* jsonout.c - JSON numbers and strings for hand-printed reports. */
#include "io/jsonout.h"

#include <math.h>

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
