/* fuzz_dataset - a dataset split opened by the library (src/data/dataset.c):
 * the input is dataset.json and the five arrays, separated by FZ_SEP lines
 * (a missing part is a missing file). An opened split must then be safe to
 * read everywhere its indices say, and to batch from. */
#include <sys/stat.h>

#include "fuzz_util.h"
#include "data/dataset.h"

static const char *FILES[] = {"dataset.json", "all__inputs.npy", "all__labels.npy",
                              "all__puzzle_identifiers.npy", "all__puzzle_indices.npy",
                              "all__group_indices.npy"};
enum { NF = sizeof FILES / sizeof FILES[0] };

static void read_all(const trm_split *s) {
    const trm_dataset_meta *m = trm_split_meta(s);
    int32_t *in = malloc(sizeof(int32_t) * (size_t)m->seq_len * 4);
    int32_t *lab = malloc(sizeof(int32_t) * (size_t)m->seq_len * 4);
    int32_t pid[4];
    if (!in || !lab) abort();
    int64_t first, end;
    for (int64_t g = 0; g < trm_split_num_groups(s) && g < 64; g++) trm_split_group_range(s, g, &first, &end);
    for (int64_t p = 0; p < trm_split_num_puzzles(s) && p < 64; p++) {
        trm_split_puzzle_range(s, p, &first, &end);
        trm_split_puzzle_id(s, p);
    }
    for (int64_t i = 0; i < trm_split_num_examples(s) && i < 64; i++) trm_split_example(s, i, in, lab);
    trm_err err;
    for (int train = 0; train < 2; train++) {
        trm_loader *l = loader_new(s, 4, train, 1, &err);
        for (int k = 0; l && k < 8 && loader_next(l, in, lab, pid) > 0; k++) {}
        loader_free(l);
    }
    free(in); free(lab);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char split[700];
    snprintf(split, sizeof split, "%s/train", fz_dir());
    mkdir(split, 0700);
    const uint8_t *part[NF];
    size_t len[NF];
    int n = fz_split(data, size, part, len, NF);
    char name[64];
    for (int i = 0; i < NF; i++) {
        snprintf(name, sizeof name, "train/%s", FILES[i]);
        if (i < n) fz_write(0, name, part[i], len[i]);
        else unlink(fz_write(0, name, NULL, 0)); /* absent, not left over from the last input */
    }
    trm_err err;
    trm_split *s = trm_split_open(fz_dir(), "train", &err);
    if (s) read_all(s);
    trm_split_close(s);
    return 0;
}
