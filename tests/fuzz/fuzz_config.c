/*
 * fuzz_config: libFuzzer target for nnspy's environment parsing. The input is
 * split at NUL bytes into the values of NNSPY_DISABLE, NNSPY_REPORT,
 * NNSPY_MAX_OPS and NNSPY_JSON (a missing one is unset).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static const char *values[4];

static const char *fake_getenv(const char *name)
{
    static const char *const names[4] = {"NNSPY_DISABLE", "NNSPY_REPORT", "NNSPY_MAX_OPS",
                                         "NNSPY_JSON"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) return values[i];
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *p = copy, *end = copy + size;
    for (int i = 0; i < 4; i++) {
        values[i] = p <= end ? p : NULL;
        p += p <= end ? strlen(p) + 1 : 0;
    }
    nn_config c;
    nn_config_parse(&c, fake_getenv);
    /* What the rest of nnspy relies on, whatever the input. */
    if (strnlen(c.json_template, sizeof c.json_template) == sizeof c.json_template) abort();
    if (c.max_listed_ops > NN_MAX_LISTED_OPS_LIMIT) abort();
    char path[sizeof c.json_template + 32];
    /* an accepted template always expands, for any pid */
    if (c.json_template[0] && !nn_expand_path(c.json_template, 4194304, path, sizeof path))
        abort();
    if (c.json_template[0] && strstr(path, "%p")) abort();
    free(copy);
    return 0;
}
