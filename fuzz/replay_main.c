/* replay_main.c - a main() for the harnesses without libFuzzer: runs
 * LLVMFuzzerTestOneInput once on each file named, so that the committed
 * crash inputs (fuzz/regressions/) replay in every build of the suite,
 * gcc and AddressSanitizer included, with or without clang. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { perror(argv[i]); return 1; }
        uint8_t *buf = NULL;
        size_t n = 0, cap = 0, got;
        do {
            if (n == cap && !(buf = realloc(buf, cap = cap ? 2 * cap : 65536))) abort();
            got = fread(buf + n, 1, cap - n, f);
            n += got;
        } while (got > 0);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        free(buf);
        printf("ok %d - %s\n", i, argv[i]);
    }
    printf("1..%d\n", argc - 1);
    return 0;
}
