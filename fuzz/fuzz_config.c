/* fuzz_config - `key=value` overrides as `trm train` applies them (each
 * key goes to the training config, else to the arch config; src/train and
 * src/core/config.c), one per input line; a line starting with '{' is
 * instead an arch config in JSON (the checkpoint metadata path). A config
 * that validates must survive the JSON round trip unchanged. */
#include "fuzz_util.h"
#include "train/train.h"

static void apply(trm_config *arch, trm_train_config *tc, char *line) {
    trm_err err;
    if (line[0] == '{') {
        trm_config_from_json(arch, line, &err);
        return;
    }
    char *eq = strchr(line, '=');
    if (!eq) return;
    *eq = 0;
    if (trm_train_config_set(tc, line, eq + 1, &err) == 1) trm_config_set(arch, line, eq + 1, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fz_str(data, size), *save = NULL;
    trm_config arch;
    trm_train_config tc;
    trm_config_default(&arch);
    trm_train_config_default(&tc);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        apply(&arch, &tc, line);
    free(trm_train_config_to_json(&tc));
    trm_err err;
    if (trm_config_validate(&arch, &err) == 0) {
        char *json = trm_config_to_json(&arch);
        trm_config back;
        trm_config_default(&back);
        if (!json || trm_config_from_json(&back, json, &err)) abort(); /* a valid config reads back */
        char *again = trm_config_to_json(&back);
        if (strcmp(json, again)) abort();                              /* ... unchanged */
        trm_config_num_params(&arch);
        free(json); free(again);
    }
    free(text);
    return 0;
}
